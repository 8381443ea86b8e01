import { hashKey, pointCodec, Zone } from '@xpp/can';
import { FakeClock } from '@xpp/reliability/testing';
import { describe, expect, it } from 'vitest';
import {
  DhtOperation,
  encodePut,
  MemoryRecordStore,
  peerRecordCodec,
  RecordKind,
  unverifiedOrigin,
  type PutInput,
  type PutResult,
} from '@xpp/dht';
import { NodeCounters } from '../../src/node/counters.js';
import { Dispatcher } from '../../src/node/dispatch.js';
import { NeighbourRights } from '../../src/node/rights.js';
import { Router } from '../../src/node/routing.js';
import { FakeCall } from '../support/fake-link.js';

// A store that groups its commits (the node-peer SQLite store commits once per event-loop turn) says when a change is
// committed through `durable()`. No answer may leave before: a crash in between would lose an acknowledged write.

const dimensions = 2;
const [low] = Zone.root(dimensions).split();
const value = peerRecordCodec.encode({
  peerId: Uint8Array.of(7),
  contact: { uri: 'sip:p@x', candidates: [] },
});

/** A memory store whose changes are "committed" only when the test says so. */
class GatedStore extends MemoryRecordStore {
  #release: (() => void) | undefined;
  #pending: Promise<void> | undefined;
  waits = 0;

  override put(input: PutInput): PutResult {
    this.#pending ??= new Promise<void>((resolve) => (this.#release = resolve));
    return super.put(input);
  }

  durable(): Promise<void> | undefined {
    this.waits++;
    return this.#pending;
  }

  commit(): void {
    this.#release?.();
    this.#pending = undefined;
  }
}

/** Whether `promise` settled within a few turns of the event loop. */
async function settled(promise: Promise<unknown>): Promise<boolean> {
  let done = false;
  void promise.then(
    () => (done = true),
    () => (done = true),
  );
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
  return done;
}

describe('answers wait for the store to commit', () => {
  it('the owner of a point answers a PUT only once the store committed it', async () => {
    const gate = new GatedStore({ clock: new FakeClock() });
    const router = new Router({
      hopLimit: 64,
      points: pointCodec(dimensions),
      store: gate,
      counters: new NodeCounters(),
      state: () => 'peer',
      zones: () => [low],
      writable: () => true,
      routable: () => [],
      neighbour: () => undefined,
      requestPeer: () => Promise.reject(new Error('no neighbour')),
      replicateWrite: () => undefined,
      origin: unverifiedOrigin(Uint8Array.of(1)),
    });
    let key = 'k0';
    for (let i = 0; !low.contains(hashKey(key, dimensions)); i++) key = `k${i}`;
    const answer = router.originate(
      'PUT',
      hashKey(key, dimensions),
      DhtOperation.PUT.type,
      encodePut({ key, kind: RecordKind.PEER, value, lifetime: 60 }),
    );
    expect(await settled(answer)).toBe(false);
    expect(gate.get(key, RecordKind.PEER)).toHaveLength(1); // stored, not yet acknowledged
    gate.commit();
    expect(await settled(answer)).toBe(true);
    expect(gate.waits).toBe(1);
  });

  it('a handler’s answer (a replica write) leaves only once the store committed', async () => {
    const gate = new GatedStore({ clock: new FakeClock() });
    const counters = new NodeCounters();
    const dispatcher = new Dispatcher(
      {
        counters,
        rights: new NeighbourRights({ counters, isNeighbour: () => true, admit: () => undefined }),
        peerOf: () => 'aa',
        durable: () => gate.durable(),
      },
      [
        {
          op: 1,
          name: 'WRITE',
          access: 'neighbour',
          handle: () => {
            gate.put({ key: 'k', kind: RecordKind.PEER, value, lifetime: 60 });
            return [];
          },
        },
        { op: 2, name: 'READ', access: 'neighbour', handle: () => [] },
      ],
    );
    const call = new FakeCall();
    dispatcher.serve(call.session);
    const answer = call.fake.deliver(1, []);
    expect(await settled(answer)).toBe(false);
    expect(counters.handled).toEqual({});
    gate.commit();
    await answer;
    expect(counters.handled).toEqual({ 'WRITE ok': 1 });
    // Nothing pending: an answer leaves at once.
    expect(await settled(call.fake.deliver(2, []))).toBe(true);
  });
});
