import { hashKey, Zone } from '@xpp/can';
import { FakeClock } from '@xpp/reliability/testing';
import type { Message, XppOption } from '@xpp/wire';
import { describe, expect, it } from 'vitest';
import { DhtOperation, MemoryRecordStore, peerRecordCodec, RecordKind } from '@xpp/dht';
import { decodeHandoff, encodeHandoff } from '../../src/messages.js';
import { NodeCounters } from '../../src/node/counters.js';
import { ZoneClaims } from '../../src/node/zone-claims.js';
import { NeighbourTable, type Neighbour } from '../../src/node/neighbour-table.js';
import { Ownership } from '../../src/node/ownership.js';
import { PeerInfoCodec } from '../../src/node/peer-info.js';
import { ZoneRecords } from '../../src/node/zone-records.js';
import { ZoneTransfer } from '../../src/node/zone-transfer.js';
import { fakeView } from '../support/fake-link.js';

const dimensions = 2;
const [low, high] = Zone.root(dimensions).split() as [Zone, Zone];
const peerInfo = new PeerInfoCodec(dimensions);
const value = peerRecordCodec.encode({
  peerId: Uint8Array.of(9),
  contact: { uri: 'sip:p@x', candidates: [] },
});
function keysIn(zone: Zone, count: number): string[] {
  const keys: string[] = [];
  for (let i = 0; keys.length < count; i++)
    if (zone.contains(hashKey(`k${i}`, dimensions))) keys.push(`k${i}`);
  return keys;
}

function transfer() {
  const clock = new FakeClock(1_000);
  const own = new Ownership({ changed: () => undefined });
  own.setState('peer');
  own.set([low, high], 'bootstrap');
  const table = new NeighbourTable(16);
  const store = new MemoryRecordStore({ clock });
  for (const key of keysIn(low, 3)) store.put({ key, kind: RecordKind.PEER, value, lifetime: 60 });
  const sent: { to: string; type: number; options: readonly XppOption[] }[] = [];
  let closed = false;
  const t = new ZoneTransfer({
    selfId: 'bb',
    dimensions,
    clock,
    claimTimeout: 3_000,
    batchOctets: 64 * 1024,
    takeoverOptions: {},
    own,
    table,
    records: new ZoneRecords(store, dimensions),
    peerInfo,
    counters: new NodeCounters(),
    claims: new ZoneClaims({ counters: new NodeCounters(), zones: () => own.zones, contested: () => [] }),
    contested: () => [],
    members: {
      upsert: (info) => table.upsert(info),
      learn: () => undefined,
      noteSender: () => undefined,
      pruneNonAdjacent: () => undefined,
    },
    links: {
      request: () => Promise.reject(new Error('unused')),
      requestPeer: (n: Neighbour, type: number, options: readonly XppOption[]) => {
        sent.push({ to: n.id, type, options });
        return Promise.resolve({ options: [] } as unknown as Message);
      },
      attach: () => undefined,
      connect: () => Promise.resolve(),
    },
    announcer: { announce: () => Promise.resolve() },
    place: () => Promise.reject(new Error('unused')),
    info: (zones, version) => peerInfo.encode(fakeView('bb', zones, version ?? own.version)),
    newPrimaries: () => undefined,
    left: () => undefined,
    requestSettle: () => undefined,
    close: () => {
      closed = true;
      return Promise.resolve();
    },
  });
  return { t, clock, own, table, store, sent, closed: () => closed };
}
const flush = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('ZoneTransfer', () => {
  it('repairs a double ownership by giving up the overlapping zone and returning its records (LEAVE RETURN)', async () => {
    const { t, own, table, store, sent } = transfer();
    const aa = table.upsert(fakeView('aa', [low], 5)) as Neighbour;
    t.repairOverlap(aa);
    expect(own.zones).toEqual([high]);
    expect(store.stats.replicas).toBe(3);
    await flush();
    expect(sent.map((s) => [s.to, s.type])).toEqual([['aa', DhtOperation.LEAVE.type]]);
    const returned = decodeHandoff(sent[0]?.options ?? []);
    expect(returned.returned).toBe(true);
    expect(returned.records).toHaveLength(3);
  });

  it('puts a repair off while a zone is being handed over, and stop() clears that retry', async () => {
    const { t, clock, own, table } = transfer();
    const aa = table.upsert(fakeView('aa', [low], 5)) as Neighbour;
    let release!: () => void;
    const handing = own.whileHandingOff(high, () => new Promise<void>((resolve) => (release = resolve)));
    t.repairOverlap(aa);
    expect(own.zones).toEqual([low, high]);
    expect(clock.pending).toBe(1);
    t.stop();
    expect(clock.pending).toBe(0);
    release();
    await handing;
  });

  it('takes back the records returned to it where they expire later than its own copy (latest expiry wins)', () => {
    const { t, store } = transfer();
    const [later, sooner] = keysIn(low, 2) as [string, string];
    const theirs = peerRecordCodec.encode({
      peerId: Uint8Array.of(7),
      contact: { uri: 'sip:q@x', candidates: [] },
    });
    // This node holds each key for 60 s; the returned copy of `later` has 600 s left, of `sooner` 10 s.
    const body = {
      options: encodeHandoff({
        zones: peerInfo.encodeZones([low]),
        neighbours: [peerInfo.encode(fakeView('cc', []))],
        records: [
          { kind: RecordKind.PEER, key: later, value: theirs, lifetime: 600 },
          { kind: RecordKind.PEER, key: sooner, value: theirs, lifetime: 10 },
        ],
        returned: true,
      }),
    } as unknown as Message;
    t.onLeave('cc', body);
    expect(store.get(later, RecordKind.PEER)[0]?.value).toEqual(theirs);
    expect(store.get(sooner, RecordKind.PEER)[0]?.value).toEqual(value);
  });

  it('refuses a LEAVE that does not list its sender first', () => {
    const { t } = transfer();
    const body = {
      options: encodeHandoff({
        zones: peerInfo.encodeZones([high]),
        neighbours: [peerInfo.encode(fakeView('cc', []))],
        records: [],
      }),
    } as unknown as Message;
    expect(() => t.onLeave('aa', body)).toThrow(/lists its sender first/);
  });
});
