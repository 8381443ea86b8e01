import { hashKey, pointCodec, Zone, type Point } from '@xpp/can';
import { FakeClock } from '@xpp/reliability/testing';
import type { XppSession } from '@xpp/session-sdp';
import type { Message, XppOption } from '@xpp/wire';
import { describe, expect, it } from 'vitest';
import {
  decodePutResponse,
  decodeRoute,
  DhtOperation,
  encodePut,
  MemoryRecordStore,
  peerRecordCodec,
  RecordKind,
  type WireRecord,
  unverifiedOrigin,
} from '@xpp/dht';
import { NodeCounters } from '../../src/node/counters.js';
import { ZoneClaims } from '../../src/node/zone-claims.js';
import { Dispatcher, type OverlayHandler } from '../../src/node/dispatch.js';
import type { Neighbour } from '../../src/node/neighbour-table.js';
import { PeerInfoCodec } from '../../src/node/peer-info.js';
import { ReplicaHolder } from '../../src/node/replica-holder.js';
import { encodeReplicate } from '../../src/node/replication.js';
import { NeighbourRights } from '../../src/node/rights.js';
import { Router } from '../../src/node/routing.js';
import { ZoneRecords } from '../../src/node/zone-records.js';
import { FakeCall, fakeNeighbour } from '../support/fake-link.js';

const dimensions = 2;
const [low, high] = Zone.root(dimensions).split();
const peerValue = peerRecordCodec.encode({
  peerId: Uint8Array.of(7),
  contact: { uri: 'sip:p@x', candidates: [] },
});
/** A key whose point lies in `zone`. */
function keyIn(zone: Zone, from = 0): string {
  for (let i = from; ; i++) if (zone.contains(hashKey(`k${i}`, dimensions))) return `k${i}`;
}
const request = (options: readonly XppOption[]) => ({ options }) as unknown as Message;

function router(init: { writable?: boolean; next?: Neighbour } = {}) {
  const store = new MemoryRecordStore({ clock: new FakeClock() });
  const replicated: { point: Point; type: number }[] = [];
  const sent: { n: Neighbour; type: number; options: readonly XppOption[] }[] = [];
  const counters = new NodeCounters();
  const r = new Router({
    hopLimit: 64,
    points: pointCodec(dimensions),
    store,
    counters,
    state: () => 'peer',
    zones: () => [low],
    writable: () => init.writable ?? true,
    routable: () => (init.next === undefined ? [] : [{ id: init.next.id, zone: high }]),
    neighbour: (id) => (init.next?.id === id ? init.next : undefined),
    requestPeer: (n, type, options) => {
      sent.push({ n, type, options });
      return Promise.resolve(request([]));
    },
    replicateWrite: (point, type) => void replicated.push({ point, type }),
    origin: unverifiedOrigin(Uint8Array.of(1)),
  });
  return { r, store, replicated, sent, counters };
}
describe('Router', () => {
  it('runs a PUT for a point it owns, replicates it, and counts 0 hops', async () => {
    const { r, store, replicated, counters } = router();
    const key = keyIn(low);
    const response = await r.originate(
      'PUT',
      hashKey(key, dimensions),
      DhtOperation.PUT.type,
      encodePut({ key, kind: RecordKind.PEER, value: peerValue, lifetime: 60 }),
    );
    expect(decodePutResponse(response).lifetime).toBe(60);
    expect(store.get(key, RecordKind.PEER)).toHaveLength(1);
    expect(replicated.map((w) => w.type)).toEqual([DhtOperation.PUT.type]);
    expect(counters.hops).toEqual([1]);
    expect(counters.started).toEqual({ 'PUT ok': 1 });
  });

  it('refuses a write into a zone being handed away (503), counted by status', async () => {
    const { r, store, counters } = router({ writable: false });
    const key = keyIn(low);
    const put = encodePut({ key, kind: RecordKind.PEER, value: peerValue, lifetime: 60 });
    await expect(
      r.originate('PUT', hashKey(key, dimensions), DhtOperation.PUT.type, put),
    ).rejects.toMatchObject({ code: 'LEAVING' });
    expect(store.stats.records).toBe(0);
    expect(counters.started).toEqual({ 'PUT 503': 1 });
  });

  it('forwards a request for a point it does not own to the closer neighbour as a ROUTE', async () => {
    const next = fakeNeighbour('bb', [high]);
    const { r, sent } = router({ next });
    const key = keyIn(high);
    await r.route(
      hashKey(key, dimensions),
      DhtOperation.PUT.type,
      encodePut({ key, kind: RecordKind.PEER, value: peerValue, lifetime: 60 }),
    );
    expect(sent).toHaveLength(1);
    expect(sent[0]?.n).toBe(next);
    expect(sent[0]?.type).toBe(DhtOperation.ROUTE.type);
    const route = decodeRoute(sent[0]?.options ?? []);
    expect(route.hopLimit).toBe(64);
    expect(route.operation).toBe(DhtOperation.PUT.type);
  });
});

function holder(init: { deadZones?: readonly Zone[] } = {}) {
  const store = new MemoryRecordStore({ clock: new FakeClock() });
  const records = new ZoneRecords(store, dimensions);
  const counters = new NodeCounters();
  const owner = fakeNeighbour('aa', [high]);
  const handedBack: { owner: Neighbour; records: readonly WireRecord[] }[] = [];
  const peerInfo = new PeerInfoCodec(dimensions);
  const h = new ReplicaHolder({
    dimensions,
    records,
    counters,
    claims: new ZoneClaims({ counters, zones: () => [low], contested: () => [] }),
    state: () => 'peer',
    zones: () => [low],
    decodeZones: (zones) => peerInfo.decodeZones(zones),
    neighbour: (id) => (id === owner.id ? owner : undefined),
    ownedNearby: (p) => high.contains(p),
    recentDeadZones: () => init.deadZones ?? [],
    handBack: (to, _zones, sent) => handedBack.push({ owner: to, records: sent }),
  });
  const replicate = (wire: readonly WireRecord[]) =>
    h.onReplicate(owner.id, request(encodeReplicate({ zones: peerInfo.encodeZones([high]), records: wire })));
  return { h, store, counters, owner, handedBack, replicate };
}

describe('ReplicaHolder', () => {
  const wire = (key: string): WireRecord => ({ kind: RecordKind.PEER, key, value: peerValue, lifetime: 60 });

  it('takes a zone’s replicas, refuses a direct write for a point it owns, and hands a recently dead zone’s back on a drop', () => {
    const { h, store, handedBack, owner, replicate } = holder({ deadZones: [high] });
    replicate([wire(keyIn(high)), wire(keyIn(high, 1000))]);
    expect(store.stats.replicas).toBe(2);
    const mine = keyIn(low);
    expect(() =>
      h.onPut(
        owner.id,
        request(
          encodePut({ key: mine, kind: RecordKind.PEER, value: peerValue, lifetime: 5, replica: true }),
        ),
      ),
    ).toThrow(expect.objectContaining({ code: 'CONFLICT' }) as Error);
    replicate([]);
    expect(store.stats.records).toBe(0);
    expect(handedBack).toHaveLength(1);
    expect(handedBack[0]?.owner).toBe(owner);
    expect(handedBack[0]?.records).toHaveLength(2);
  });

  it('refuses replicas lying outside the zones they come with, and prunes what nobody near owns', () => {
    const { h, store, counters, replicate } = holder();
    expect(() => replicate([wire(keyIn(low))])).toThrow(/lies outside/);
    store.put({ key: keyIn(low), kind: RecordKind.PEER, value: peerValue, lifetime: 60, role: 'replica' });
    store.put({ key: keyIn(high), kind: RecordKind.PEER, value: peerValue, lifetime: 60, role: 'replica' });
    h.prune();
    expect(store.stats.replicas).toBe(1);
    expect(counters.refused).toEqual({ 'stale-replicas-dropped': 1 });
  });
});

describe('Dispatcher with the neighbour rights', () => {
  it('checks the sender before a neighbour-only handler, counts each result, and lets open handlers through', async () => {
    const counters = new NodeCounters();
    const neighbours = new Set(['aa']);
    const peers = new WeakMap<object, string>();
    const seen: string[] = [];
    const handlers: OverlayHandler[] = [
      { op: 1, name: 'ONE', access: 'neighbour', handle: (_r, sender) => (seen.push(sender), []) },
      { op: 2, name: 'TWO', access: 'open', handle: () => [] },
      { op: 3, name: 'THREE', access: 'announcer', handle: (_r, sender) => (seen.push(sender), []) },
    ];
    const dispatcher = new Dispatcher(
      {
        counters,
        rights: new NeighbourRights({
          counters,
          isNeighbour: (id) => neighbours.has(id),
          admit: (from) => (from === 'cc' ? 'cc' : undefined),
        }),
        peerOf: (s: XppSession) => peers.get(s),
      },
      handlers,
    );
    const known = new FakeCall();
    const stranger = new FakeCall();
    const caller = new FakeCall();
    peers.set(known.session, 'aa');
    peers.set(stranger.session, 'bb');
    peers.set(caller.session, 'cc');
    for (const c of [known, stranger, caller]) dispatcher.serve(c.session);
    await known.fake.deliver(1, []);
    await expect(stranger.fake.deliver(1, [])).rejects.toMatchObject({ status: 403 });
    await stranger.fake.deliver(2, []);
    await caller.fake.deliver(3, []);
    await expect(caller.fake.deliver(1, [])).rejects.toMatchObject({ status: 403 });
    expect(seen).toEqual(['aa', 'cc']);
    expect(counters.handled).toEqual({ 'ONE ok': 1, 'ONE 403': 2, 'TWO ok': 1, 'THREE ok': 1 });
    expect(counters.refused).toEqual({ 'not-a-neighbour': 2 });
  });

  it('lets a non-neighbour past only where the handler’s alsoFrom says so (a LEAVE asked again)', async () => {
    const counters = new NodeCounters();
    const peers = new WeakMap<object, string>();
    const seen: string[] = [];
    const handlers: OverlayHandler[] = [
      {
        op: 1,
        name: 'LEAVE',
        access: 'neighbour',
        handle: (_r, sender) => (seen.push(sender), []),
        alsoFrom: (from) => from === 'bb',
      },
    ];
    const dispatcher = new Dispatcher(
      {
        counters,
        rights: new NeighbourRights({ counters, isNeighbour: () => false, admit: () => undefined }),
        peerOf: (s: XppSession) => peers.get(s),
      },
      handlers,
    );
    const pruned = new FakeCall();
    const stranger = new FakeCall();
    peers.set(pruned.session, 'bb');
    peers.set(stranger.session, 'cc');
    for (const c of [pruned, stranger]) dispatcher.serve(c.session);
    await pruned.fake.deliver(1, []);
    await expect(stranger.fake.deliver(1, [])).rejects.toMatchObject({ status: 403 });
    expect(seen).toEqual(['bb']);
    expect(counters.refused).toEqual({ 'not-a-neighbour': 1 });
  });
});
