import { hashKey, pointCodec, Zone } from '@xpp/can';
import { FakeClock } from '@xpp/reliability/testing';
import type { Message, XppOption } from '@xpp/wire';
import { describe, expect, it } from 'vitest';
import {
  DhtError,
  DhtOperation,
  encodePut,
  encodeRemove,
  MemoryRecordStore,
  peerRecordCodec,
  RecordKind,
  unverifiedOrigin,
} from '@xpp/dht';
import { NodeCounters } from '../../src/node/counters.js';
import { NeighbourTable } from '../../src/node/neighbour-table.js';
import { Replicator } from '../../src/node/replicator.js';
import { decodeReplicate } from '../../src/node/replication.js';
import { Router } from '../../src/node/routing.js';

// Issue #18 item 1, spec §4: a write is acknowledged only once its replica holders committed it too. The owner's
// answer waits for the answers to the REPLICATE that carries the write; with no holder committing it, it is 503.

const dimensions = 2;
const [mine, high] = Zone.root(dimensions).split() as [Zone, Zone];
const [h1, h2] = high.split() as [Zone, Zone];
const PEER = peerRecordCodec.encode({
  peerId: Uint8Array.of(7),
  contact: { uri: 'sip:p@x', candidates: [] },
});

/** A holder's answer to one request, given by the test. */
interface Sent {
  readonly to: string;
  readonly type: number;
  readonly options: readonly XppOption[];
  readonly timeout: number | undefined;
  answer(): void;
  fail(): void;
}

function replicator(holders: readonly (readonly [string, Zone])[], maxPendingAcks?: number) {
  const neighbours = new NeighbourTable(16);
  for (const [id, zone] of holders)
    neighbours.upsert({
      peerId: new Uint8Array(Buffer.from(id, 'hex')),
      zones: [zone],
      contact: { uri: `sip:${id}@x`, candidates: [] },
      version: 1,
    });
  const sent: Sent[] = [];
  const deferred: (() => void)[] = [];
  const r = new Replicator({
    neighbours,
    store: new MemoryRecordStore({ clock: new FakeClock() }),
    replicas: 2,
    takeoverOptions: {},
    batchOctets: 60_000,
    zones: () => [mine],
    pointOf: () => {
      throw new Error('unused');
    },
    encodeZones: (zones) => zones.map((z) => new Uint8Array(Buffer.from(z.path))),
    request: (n, type, options, timeout) =>
      new Promise<Message>((resolve, reject) =>
        sent.push({
          to: n.id,
          type,
          options,
          timeout,
          answer: () => resolve({ options: [] } as unknown as Message),
          fail: () => reject(new DhtError('NO_ROUTE', 'request timed out')),
        }),
      ),
    replicated: () => undefined,
    resync: () => undefined,
    defer: (flush) => deferred.push(flush),
    ackTimeout: 2500,
    ...(maxPendingAcks === undefined ? {} : { maxPendingAcks }),
  });
  const endTurn = () => {
    for (const flush of deferred.splice(0)) flush();
  };
  return { r, sent, endTurn };
}

const TWO_HOLDERS = [
  ['aa', h1],
  ['bb', h2],
] as const;

const put = (i: number) =>
  encodePut({ key: `k${i}`, kind: RecordKind.PEER, value: PEER, lifetime: 60, replica: true });

/** Whether `promise` settled within a few turns of the event loop, and how. */
async function outcome(promise: Promise<unknown> | undefined): Promise<'pending' | 'ok' | string> {
  let result = 'pending';
  void promise?.then(
    () => (result = 'ok'),
    (error: unknown) => (result = DhtError.is(error) ? `${error.code} ${error.status}` : String(error)),
  );
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
  return result;
}

describe('Replicator: a write is acknowledged once its holders committed it', () => {
  it('settles only when every holder answered the REPLICATE that carried the write', async () => {
    const { r, sent, endTurn } = replicator(TWO_HOLDERS);
    const first = r.write(mine, DhtOperation.PUT.type, put(1));
    const second = r.write(mine, DhtOperation.PUT.type, put(2));
    endTurn();
    // One REPLICATE per holder carries both writes (no extra datagram), with the ack timeout.
    expect(sent.map((s) => [s.to, decodeReplicate(s.options).records.length, s.timeout])).toEqual([
      ['aa', 2, 2500],
      ['bb', 2, 2500],
    ]);
    sent[0]!.answer();
    expect(await outcome(first)).toBe('pending');
    sent[1]!.answer();
    expect(await outcome(first)).toBe('ok');
    expect(await outcome(second)).toBe('ok');
    expect(r.stats).toMatchObject({ degraded: 0, unreplicated: 0, inFlight: 0 });
  });

  it('acknowledges when one holder failed and the other committed, counted as degraded', async () => {
    const { r, sent, endTurn } = replicator(TWO_HOLDERS);
    const write = r.write(mine, DhtOperation.PUT.type, put(1));
    endTurn();
    sent[0]!.fail(); // the REPLICATE's answer never came: its request timed out
    expect(await outcome(write)).toBe('pending');
    sent[1]!.answer();
    expect(await outcome(write)).toBe('ok');
    expect(r.stats).toMatchObject({ degraded: 1, unreplicated: 0, failed: 1 });
  });

  it('refuses with NOT_REPLICATED (503) when no holder committed the write', async () => {
    const { r, sent, endTurn } = replicator(TWO_HOLDERS);
    const write = r.write(mine, DhtOperation.PUT.type, put(1));
    endTurn();
    for (const s of sent) s.fail();
    expect(await outcome(write)).toBe('NOT_REPLICATED 503');
    expect(r.stats).toMatchObject({ degraded: 0, unreplicated: 1 });
  });

  it('waits for the one holder of a two-peer overlay, and for nothing when alone', async () => {
    const pair = replicator([['aa', high]]);
    const write = pair.r.write(mine, DhtOperation.PUT.type, put(1));
    pair.endTurn();
    expect(await outcome(write)).toBe('pending');
    pair.sent[0]!.fail();
    expect(await outcome(write)).toBe('NOT_REPLICATED 503');

    const alone = replicator([]);
    expect(alone.r.write(mine, DhtOperation.PUT.type, put(1))).toBeUndefined();
  });

  it('waits for the holders’ answers to a REMOVE, sent on its own', async () => {
    const { r, sent } = replicator(TWO_HOLDERS);
    const remove = r.write(
      mine,
      DhtOperation.REMOVE.type,
      encodeRemove({ key: 'k1', kind: RecordKind.PEER, replica: true }),
    );
    expect(sent.map((s) => [s.to, s.type, s.timeout])).toEqual([
      ['aa', DhtOperation.REMOVE.type, 2500],
      ['bb', DhtOperation.REMOVE.type, 2500],
    ]);
    sent[1]!.answer();
    expect(await outcome(remove)).toBe('pending');
    sent[0]!.fail();
    expect(await outcome(remove)).toBe('ok');
  });

  it('waits for at most maxPendingAcks writes per holder; past it the holder counts as not committed', async () => {
    const { r, sent, endTurn } = replicator(TWO_HOLDERS, 2);
    const writes = [1, 2, 3].map((i) => r.write(mine, DhtOperation.PUT.type, put(i)));
    endTurn();
    // The third write still reaches both holders, but neither is waited for: no holder counts, so 503 at once.
    expect(sent.map((s) => decodeReplicate(s.options).records.length)).toEqual([3, 3]);
    expect(await outcome(writes[2])).toBe('NOT_REPLICATED 503');
    expect(await outcome(writes[0])).toBe('pending');
    for (const s of sent) s.answer();
    expect(await outcome(writes[0])).toBe('ok');
    expect(await outcome(writes[1])).toBe('ok');
    // Once answered, the holder is waited for again.
    const later = r.write(mine, DhtOperation.PUT.type, put(4));
    endTurn();
    for (const s of sent.slice(2)) s.answer();
    expect(await outcome(later)).toBe('ok');
  });
});

describe('Router: the owner’s answer waits for the replica holders', () => {
  function owner(replicated: () => Promise<void>) {
    const router = new Router({
      hopLimit: 64,
      points: pointCodec(dimensions),
      store: new MemoryRecordStore({ clock: new FakeClock() }),
      counters: new NodeCounters(),
      state: () => 'peer',
      zones: () => [mine],
      writable: () => true,
      routable: () => [],
      neighbour: () => undefined,
      requestPeer: () => Promise.reject(new Error('no neighbour')),
      replicateWrite: replicated,
      origin: unverifiedOrigin(Uint8Array.of(1)),
    });
    let key = 'k0';
    for (let i = 0; !mine.contains(hashKey(key, dimensions)); i++) key = `k${i}`;
    const write = () =>
      router.route(
        hashKey(key, dimensions),
        DhtOperation.PUT.type,
        encodePut({ key, kind: RecordKind.PEER, value: PEER, lifetime: 60 }),
        10,
      );
    return write;
  }

  it('answers a PUT only once its replication is acknowledged', async () => {
    let acknowledge = () => {};
    const write = owner(() => new Promise<void>((resolve) => (acknowledge = resolve)))();
    expect(await outcome(write)).toBe('pending');
    acknowledge();
    expect(await outcome(write)).toBe('ok');
  });

  it('answers 503 when no holder committed the write', async () => {
    const write = owner(() => Promise.reject(new DhtError('NOT_REPLICATED', 'none')))();
    expect(await outcome(write)).toBe('NOT_REPLICATED 503');
  });
});
