import { areNeighbours, Zone } from '@xpp/can';
import { FakeClock } from '@xpp/reliability/testing';
import type { Message, XppOption } from '@xpp/wire';
import { describe, expect, it } from 'vitest';
import { DhtError, DhtOperation } from '@xpp/dht';
import { encodeTakeover } from '../../src/messages.js';
import type { TakeoverEvent } from '../../src/node/events.js';
import { NeighbourTable, type Neighbour } from '../../src/node/neighbour-table.js';
import { PeerInfoCodec } from '../../src/node/peer-info.js';
import { PeerMemory } from '../../src/node/peer-memory.js';
import { TakeoverCoordinator } from '../../src/node/takeover-coordinator.js';
import { ZoneClaims } from '../../src/node/zone-claims.js';
import { NodeCounters } from '../../src/node/counters.js';
import { fakeView } from '../support/fake-link.js';

const dimensions = 2;
const peerInfo = new PeerInfoCodec(dimensions);
const [low, high] = Zone.root(dimensions).split();
const [deadZone, siblingZone] = low.split() as [Zone, Zone];
/** The quadrant of `high` that abuts the dead one. */
const besideZone = high.split().find((q) => areNeighbours(deadZone, q)) as Zone;
const claimTimeout = 3_000;

/**
 * A survivor `selfId` owning `mine`, with the dead peer `dd` (owning `deadZone`) and the other survivor as
 * neighbours. `answer` says what the other survivor answers a claim.
 */
function survivor(selfId: string, mine: Zone, other: { id: string; zone: Zone }, answer: () => 'ok' | 409) {
  const clock = new FakeClock(1_000);
  const table = new NeighbourTable(16);
  let zones: Zone[] = [mine];
  const claims: { to: string; at: number }[] = [];
  const took: TakeoverEvent[] = [];
  const settles = { count: 0 };
  const dead = table.upsert(fakeView('dd', [deadZone]), 0) as Neighbour;
  dead.peers = [fakeView(other.id, [other.zone]), fakeView(selfId, [mine])];
  table.upsert(fakeView(other.id, [other.zone]), 0);
  let lock = Promise.resolve();
  const coordinator = new TakeoverCoordinator({
    selfId,
    clock,
    takeoverOptions: {},
    replicas: 2,
    claimTimeout,
    timeout: 10_000,
    detectionWindow: 60_000,
    maxNeighbours: 16,
    state: () => 'peer',
    zones: () => zones,
    requestSettle: () => settles.count++,
    table,
    memory: new PeerMemory(clock, { maxTombstones: 64, maxDeadPeers: 16, unreachableFor: 30_000 }),
    records: { inZones: () => [], wire: () => [] },
    claims: new ZoneClaims({ counters: new NodeCounters(), zones: () => zones, contested: () => [] }),
    peerInfo,
    members: {
      forget: (n) => void table.delete(n.id),
      upsert: (info) => table.upsert(info, clock.now()),
      learnView: () => undefined,
      tellOf: () => undefined,
    },
    links: {
      connect: () => Promise.resolve(),
      requestPeer: (n: Neighbour, type: number) => {
        expect(type).toBe(DhtOperation.TAKEOVER.type);
        claims.push({ to: n.id, at: clock.now() });
        const a = answer();
        return a === 'ok'
          ? Promise.resolve({ options: [] } as unknown as Message)
          : Promise.reject(new DhtError('REMOTE_ERROR', 'refused', { status: 409 }));
      },
    },
    exclusive: <T>(work: () => Promise<T>) => {
      const run = lock.then(work);
      lock = run.then(
        () => undefined,
        () => undefined,
      );
      return run;
    },
    info: (z) => peerInfo.encode({ ...fakeView(selfId, z) }),
    take: (zone) => {
      zones = [...zones, zone];
      return 0;
    },
    holdHandBacks: () => undefined,
    took: (e) => took.push(e),
    handBack: () => Promise.resolve(),
  });
  return { coordinator, clock, claims, took, dead, zones: () => zones, settles };
}
const flush = () => new Promise<void>((resolve) => setImmediate(resolve));
const claimFrom = (claimer: string, zone: Zone): Message =>
  ({
    options: [
      ...encodeTakeover({ deadPeer: Buffer.from('dd', 'hex'), zones: peerInfo.encodeZones([zone]) }),
    ] as XppOption[],
  }) as unknown as Message;

describe('TakeoverCoordinator', () => {
  it('claims in rank order: the dead zone’s whole sibling at once, another survivor one claim timeout later', async () => {
    const first = survivor('bb', siblingZone, { id: 'aa', zone: besideZone }, () => 'ok');
    first.coordinator.linkDied(first.dead);
    expect(first.coordinator.pending).toBe(1);
    first.clock.advance(0);
    await flush();
    expect(first.claims).toEqual([{ to: 'aa', at: 1_000 }]);
    expect(first.coordinator.won).toBe(1);
    expect(first.took.map((e) => e.deadPeer)).toEqual(['dd']);
    expect(first.zones()).toHaveLength(2);

    const second = survivor('aa', besideZone, { id: 'bb', zone: siblingZone }, () => 'ok');
    second.coordinator.linkDied(second.dead);
    second.clock.advance(claimTimeout - 1);
    await flush();
    expect(second.claims).toEqual([]);
    second.clock.advance(1);
    await flush();
    expect(second.claims.map((c) => c.at)).toEqual([1_000 + claimTimeout]);
  });

  it('yields when another survivor refuses its claim (409), and takes nothing', async () => {
    const t = survivor('aa', besideZone, { id: 'bb', zone: siblingZone }, () => 409);
    t.coordinator.linkDied(t.dead);
    t.clock.advance(claimTimeout);
    await flush();
    expect(t.claims).toHaveLength(1);
    expect(t.coordinator.yielded).toBe(1);
    expect(t.coordinator.won).toBe(0);
    expect(t.zones()).toEqual([besideZone]);
  });

  it('grants a preferred survivor’s claim and stands down; refuses a less preferred one and claims itself', async () => {
    const lower = survivor('aa', besideZone, { id: 'bb', zone: siblingZone }, () => 'ok');
    lower.coordinator.linkDied(lower.dead);
    expect(lower.coordinator.onTakeover('bb', claimFrom('bb', deadZone))).toEqual([]);
    expect(lower.coordinator.yielded).toBe(1);

    const preferred = survivor('bb', siblingZone, { id: 'aa', zone: besideZone }, () => 'ok');
    preferred.coordinator.linkDied(preferred.dead);
    expect(() => preferred.coordinator.onTakeover('aa', claimFrom('aa', deadZone))).toThrow(
      expect.objectContaining({ code: 'CONFLICT' }) as Error,
    );
    await flush();
    expect(preferred.claims.map((c) => c.to)).toEqual(['aa']);
  });

  it('stop() clears every takeover timer', () => {
    const t = survivor('aa', besideZone, { id: 'bb', zone: siblingZone }, () => 'ok');
    t.coordinator.linkDied(t.dead);
    expect(t.clock.pending).toBeGreaterThan(0);
    t.coordinator.stop();
    expect(t.clock.pending).toBe(0);
  });
});
