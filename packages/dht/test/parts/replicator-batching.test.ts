import { Zone } from '@xpp/can';
import { FakeClock } from '@xpp/reliability/testing';
import type { Message, XppOption } from '@xpp/wire';
import { describe, expect, it } from 'vitest';
import { decodeRemove, DhtOperation, encodePut, encodeRemove, MemoryRecordStore, RecordKind } from '@xpp/dht';
import { NeighbourTable } from '../../src/node/neighbour-table.js';
import { Replicator } from '../../src/node/replicator.js';
import { decodeReplicate, REPLICATE } from '../../src/node/replication.js';

// Issue #19 item 3: the replica writes an owner makes in one event-loop turn go to each holder as one REPLICATE.

const dimensions = 2;
const [mine, high] = Zone.root(dimensions).split() as [Zone, Zone];
const [h1, h2] = high.split() as [Zone, Zone];
const PEER = new Uint8Array(Buffer.from('sip:p@x'));

function replicator(batchOctets = 60_000) {
  const neighbours = new NeighbourTable(16);
  for (const [id, zone] of [
    ['aa', h1],
    ['bb', h2],
  ] as const)
    neighbours.upsert({
      peerId: new Uint8Array(Buffer.from(id, 'hex')),
      zones: [zone],
      contact: { uri: `sip:${id}@x`, candidates: [] },
      version: 1,
    });
  const sent: { to: string; type: number; options: readonly XppOption[] }[] = [];
  const deferred: (() => void)[] = [];
  const r = new Replicator({
    neighbours,
    store: new MemoryRecordStore({ clock: new FakeClock() }),
    replicas: 2,
    takeoverOptions: {},
    batchOctets,
    zones: () => [mine],
    pointOf: () => {
      throw new Error('unused');
    },
    encodeZones: (zones) => zones.map((z) => new Uint8Array(Buffer.from(z.path))),
    request: (n, type, options) => {
      sent.push({ to: n.id, type, options });
      return Promise.resolve({ options: [] } as unknown as Message);
    },
    replicated: () => undefined,
    resync: () => undefined,
    defer: (flush) => deferred.push(flush),
  });
  const endTurn = () => {
    for (const flush of deferred.splice(0)) flush();
  };
  return { r, sent, endTurn };
}

const put = (i: number) =>
  encodePut({ key: `k${i}`, kind: RecordKind.PEER, value: PEER, lifetime: 60 + i, replica: true });

describe('Replicator: replica writes batched per holder per turn', () => {
  it('sends the PUTs of one turn to each holder as one REPLICATE, counted in flight until sent', async () => {
    const { r, sent, endTurn } = replicator();
    for (let i = 0; i < 5; i++) r.write(mine, DhtOperation.PUT.type, put(i));
    expect(sent).toEqual([]);
    expect(r.inFlight).toBe(2); // one pending batch per holder
    endTurn();
    expect(sent.map((s) => [s.to, s.type])).toEqual([
      ['aa', REPLICATE.type],
      ['bb', REPLICATE.type],
    ]);
    for (const s of sent) {
      const body = decodeReplicate(s.options);
      expect(body.zones.map((z) => Buffer.from(z).toString())).toEqual([mine.path]);
      expect(body.records.map((rec) => [rec.key, rec.lifetime])).toEqual(
        [0, 1, 2, 3, 4].map((i) => [`k${i}`, 60 + i]),
      );
    }
    await new Promise((resolve) => setImmediate(resolve));
    expect(r.stats).toMatchObject({ inFlight: 0, sent: 2, failed: 0 });
  });

  it('sends a REMOVE after the PUTs made before it, on its own', () => {
    const { r, sent, endTurn } = replicator();
    r.write(mine, DhtOperation.PUT.type, put(1));
    const remove = encodeRemove({ key: 'k1', kind: RecordKind.PEER, replica: true });
    r.write(mine, DhtOperation.REMOVE.type, remove);
    r.write(mine, DhtOperation.PUT.type, put(2));
    expect(sent.map((s) => [s.to, s.type])).toEqual([
      ['aa', REPLICATE.type],
      ['aa', DhtOperation.REMOVE.type],
      ['bb', REPLICATE.type],
      ['bb', DhtOperation.REMOVE.type],
    ]);
    expect(decodeRemove(sent[1]!.options).key).toBe('k1');
    endTurn();
    expect(sent.slice(4).map((s) => [s.to, decodeReplicate(s.options).records.map((x) => x.key)])).toEqual([
      ['aa', ['k2']],
      ['bb', ['k2']],
    ]);
  });

  it('splits a large turn into REPLICATEs of at most batchOctets of records', () => {
    const { r, sent, endTurn } = replicator(100);
    for (let i = 0; i < 12; i++) r.write(mine, DhtOperation.PUT.type, put(i));
    endTurn();
    const toA = sent.filter((s) => s.to === 'aa').map((s) => decodeReplicate(s.options).records);
    expect(toA.length).toBeGreaterThan(1);
    expect(toA.flat().map((x) => x.key)).toEqual(Array.from({ length: 12 }, (_, i) => `k${i}`));
  });
});
