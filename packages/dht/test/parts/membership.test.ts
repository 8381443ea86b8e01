import { Zone } from '@xpp/can';
import { FakeClock } from '@xpp/reliability/testing';
import { describe, expect, it } from 'vitest';
import { NodeCounters } from '../../src/node/counters.js';
import { ZoneClaims } from '../../src/node/zone-claims.js';
import type { NeighbourDownReason } from '../../src/node/events.js';
import { Membership } from '../../src/node/membership.js';
import { adjacent, NeighbourTable, type Neighbour, type PeerView } from '../../src/node/neighbour-table.js';
import { PeerInfoCodec } from '../../src/node/peer-info.js';
import { PeerListDelta } from '../../src/node/peer-list-delta.js';
import { PeerMemory } from '../../src/node/peer-memory.js';
import { FakeCall, fakeView } from '../support/fake-link.js';

const dimensions = 2;
const [low, high] = Zone.root(dimensions).split();
const quadrants = [...low.split(), ...high.split()];
const mine = quadrants[0] as Zone;
const abutting = quadrants.filter((q) => q !== mine && adjacent([q], [mine]));
const apart = quadrants.find((q) => q !== mine && !adjacent([q], [mine])) as Zone;

function membership() {
  const clock = new FakeClock(1_000);
  const table = new NeighbourTable(16);
  const peerInfo = new PeerInfoCodec(dimensions);
  const memory = new PeerMemory(clock, { maxTombstones: 64, maxDeadPeers: 16, unreachableFor: 30_000 });
  const forgotten: [string, NeighbourDownReason][] = [];
  const connected: string[] = [];
  let coordinating = false;
  const m = new Membership({
    selfId: 'bb',
    clock,
    table,
    delta: new PeerListDelta(16),
    memory,
    peerInfo,
    counters: new NodeCounters(),
    claims: new ZoneClaims({ counters: new NodeCounters(), zones: () => [mine], contested: () => [] }),
    maxNeighbours: 16,
    refreshInterval: 30_000,
    claimTimeout: 3_000,
    links: {
      connect: (n: Neighbour) => (connected.push(n.id), Promise.resolve()),
      detach: (n: Neighbour) => {
        const link = n.link;
        n.link = undefined;
        return link;
      },
      request: () => Promise.reject(new Error('unused')),
      requestPeer: () => Promise.reject(new Error('unused')),
    },
    announcer: { partialUpdate: () => [] },
    zones: () => [mine],
    coordinating: () => coordinating,
    repairOverlap: () => undefined,
    resolveTakeovers: () => undefined,
    forgotten: (n, reason) => forgotten.push([n.id, reason]),
    requestSettle: () => undefined,
  });
  const info = (view: PeerView) => peerInfo.encode(view);
  return { m, table, memory, forgotten, connected, info, coordinate: (on: boolean) => (coordinating = on) };
}

describe('Membership', () => {
  it('does not believe a relayed death of a peer it has a live link to; the peer’s own word drops it', () => {
    const { m, table, forgotten, info } = membership();
    const aa = m.upsert(fakeView('aa', [abutting[0] as Zone], 1)) as Neighbour;
    const link = new FakeCall();
    aa.link = link.call;
    m.learn(info(fakeView('aa', [], 2)), 'cc');
    expect(table.get('aa')).toBe(aa);
    expect(forgotten).toEqual([]);
    m.learn(info(fakeView('aa', [], 2)), 'aa');
    expect(table.get('aa')).toBeUndefined();
    expect(forgotten).toEqual([['aa', 'left']]);
    expect(link.hungUp).toBe(true);
    // Buried: a relayed older entry cannot bring it back.
    expect(m.learn(info(fakeView('aa', [abutting[0] as Zone], 2)), 'cc')).toBeUndefined();
    expect(table.get('aa')).toBeUndefined();
  });

  it('prunes a neighbour that moved away and does not take it back from a stale relayed entry', () => {
    const { m, table, forgotten, connected, info } = membership();
    m.upsert(fakeView('aa', [abutting[0] as Zone], 1));
    m.learn(info(fakeView('aa', [apart], 2)), 'aa');
    expect(table.get('aa')).toBeUndefined();
    expect(forgotten).toEqual([['aa', 'pruned']]);
    // A neighbour that has not heard of the move relays the old, adjacent entry: not re-added, not called.
    expect(m.learn(info(fakeView('aa', [abutting[0] as Zone], 1)), 'cc')).toBeUndefined();
    expect(table.get('aa')).toBeUndefined();
    // A newer entry adjacent again is news: added, and called.
    const back = m.learn(info(fakeView('aa', [abutting[0] as Zone], 3)), 'cc');
    expect(back?.id).toBe('aa');
    expect(connected).toEqual([]);
  });

  it('keeps peers that no longer abut while a takeover is undecided, and prunes them after', () => {
    const { m, table, coordinate } = membership();
    m.upsert(fakeView('aa', [apart], 1));
    coordinate(true);
    m.pruneNonAdjacent();
    expect(table.get('aa')).toBeDefined();
    coordinate(false);
    m.pruneNonAdjacent();
    expect(table.get('aa')).toBeUndefined();
  });
});
