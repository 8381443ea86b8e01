import { hashKey, Zone } from '@xpp/can';
import { FakeClock } from '@xpp/reliability/testing';
import { describe, expect, it } from 'vitest';
import {
  MemoryRecordStore,
  peerRecordCodec,
  RecordKind,
  RecordStore,
  type RecordStore as Store,
} from '@xpp/dht';
import { checkOptions, isRecordStore } from '../../src/node/node-options.js';
import { ZoneRecords } from '../../src/node/zone-records.js';

const dimensions = 2;
const [low, high] = Zone.root(dimensions).split();

function filled(): { store: Store; records: ZoneRecords; keys: { low: string[]; high: string[] } } {
  const store = new MemoryRecordStore({ clock: new FakeClock() });
  const keys = { low: [] as string[], high: [] as string[] };
  for (let i = 0; i < 40; i++) {
    const key = `peer-${i}`;
    const inLow = low.contains(hashKey(key, dimensions));
    store.put({
      key,
      kind: RecordKind.PEER,
      value: peerRecordCodec.encode({
        peerId: Uint8Array.of(i + 1),
        contact: { uri: 'sip:p@x', candidates: [] },
      }),
      lifetime: 60,
      role: i % 2 === 0 ? 'primary' : 'replica',
    });
    (inLow ? keys.low : keys.high).push(key);
  }
  return { store, records: new ZoneRecords(store, dimensions), keys };
}

describe('ZoneRecords over a RecordStore', () => {
  it('selects, promotes, demotes and takes by zone and role', () => {
    const { store, records, keys } = filled();
    expect(
      records
        .inZones([low])
        .map((r) => r.key)
        .sort(),
    ).toEqual([...keys.low].sort());
    const lowReplicas = records.inZones([low], 'replica').length;
    expect(records.promote([low])).toBe(lowReplicas);
    expect(records.inZones([low], 'replica')).toHaveLength(0);
    const highPrimaries = records.inZones([high], 'primary').length;
    expect(records.demote([high])).toBe(highPrimaries);
    expect(records.inZones([high], 'primary')).toHaveLength(0);
    const taken = records.take([high]);
    expect(taken).toHaveLength(keys.high.length);
    expect(store.stats.records).toBe(keys.low.length);
    expect(records.wire(records.inZones([low])).every((w) => w.lifetime === 60)).toBe(true);
  });

  it('the old class name still builds the in-memory store; a store instance is told from store options', () => {
    const store = new RecordStore({ clock: new FakeClock() });
    expect(store).toBeInstanceOf(MemoryRecordStore);
    expect(isRecordStore(store)).toBe(true);
    expect(isRecordStore({ maxRecords: 5 })).toBe(false);
    expect(isRecordStore(undefined)).toBe(false);
    expect(() => checkOptions({ store, adminPublicKey: new Uint8Array(32) })).toThrow(/adminPublicKey/);
  });
});
