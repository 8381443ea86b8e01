import { Zone } from '@xpp/can';
import { ReliabilityError } from '@xpp/reliability';
import { FakeClock } from '@xpp/reliability/testing';

import { describe, expect, it } from 'vitest';
import { NodeCounters } from '../../src/node/counters.js';
import { Links, type Dialer } from '../../src/node/links.js';
import type { Neighbour } from '../../src/node/neighbour-table.js';
import { FakeCall, fakeNeighbour } from '../support/fake-link.js';

const zone = Zone.root(2);

/** Links of node `selfId` over a dialer whose calls the test hands out (or fails). */
function links(selfId: string, table: Neighbour[], options: { behindNat?: boolean } = {}) {
  const clock = new FakeClock(1_000);
  const counters = new NodeCounters();
  const events = {
    died: [] as string[],
    up: [] as string[],
    unreachable: [] as string[],
    settles: 0,
    opened: [] as unknown[],
  };
  const placed: FakeCall[] = [];
  const relayed: string[] = [];
  let failCalls = false;
  const dialer: Dialer = {
    place: (_uri, onSession) => {
      if (failCalls) return Promise.reject(new Error('no answer'));
      const call = new FakeCall();
      onSession(call.session);
      placed.push(call);
      return Promise.resolve(call.call);
    },
    viaRelay: (n, onSession) => {
      const call = new FakeCall();
      onSession(call.session);
      relayed.push(n.id);
      return Promise.resolve(call.call);
    },
  };
  const l = new Links({
    selfId,
    clock,
    dialer,
    counters,
    timeout: 10_000,
    claimTimeout: 3_000,
    state: () => 'peer',
    isCurrent: (n) => table.includes(n),
    serve: () => undefined,
    linkDied: (n) => events.died.push(n.id),
    linkUp: (n) => events.up.push(n.id),
    unreachable: (n) => events.unreachable.push(n.id),
    hello: () => [],
    requestSettle: () => events.settles++,
    behindNat: () => options.behindNat === true,
    linkOpened: (call) => events.opened.push(call),
  });
  return {
    l,
    clock,
    counters,
    events,
    placed,
    relayed,
    failCalls: (fail: boolean) => (failCalls = fail),
  };
}

describe('Links', () => {
  it('keeps the call the lower id placed when two calls cross, on both sides', () => {
    // This node (bb) placed a call to aa, and aa's call to it arrives: aa is lower, so aa's call is kept.
    const aa = fakeNeighbour('aa', [zone]);
    const high = links('bb', [aa]);
    const mine = new FakeCall();
    const theirs = new FakeCall();
    high.l.attach(aa, mine.call, true);
    high.l.attach(aa, theirs.call, false);
    expect(aa.link).toBe(theirs.call);
    expect(mine.hungUp).toBe(true);
    expect(high.events.up).toEqual(['aa']);
    // At aa the same two calls: its own (placed here, by the lower id) stays, bb's is hung up.
    const bb = fakeNeighbour('bb', [zone]);
    const low = links('aa', [bb]);
    const own = new FakeCall();
    const incoming = new FakeCall();
    low.l.attach(bb, own.call, true);
    low.l.attach(bb, incoming.call, false);
    expect(bb.link).toBe(own.call);
    expect(incoming.hungUp).toBe(true);
    expect(low.l.peerOf(own.session)).toBe('bb');
  });

  it('reports a link that closed with an error as died, and one closed cleanly only as linkless', () => {
    const aa = fakeNeighbour('aa', [zone]);
    const bb = fakeNeighbour('bb', [zone]);
    const { l, clock, events } = links('cc', [aa, bb]);
    const toA = new FakeCall();
    const toB = new FakeCall();
    l.attach(aa, toA.call, true);
    l.attach(bb, toB.call, true);
    clock.advance(500);
    toA.fake.close(new ReliabilityError('PEER_DEAD', 'keepalives unanswered'));
    toB.fake.close();
    expect(events.died).toEqual(['aa']);
    expect(bb.link).toBeUndefined();
    expect(bb.linklessSince).toBe(1_500);
  });

  it('sends a request again on the link that replaced one that ended under it', async () => {
    const aa = fakeNeighbour('aa', [zone]);
    const { l } = links('bb', [aa]);
    const first = new FakeCall();
    const second = new FakeCall();
    l.attach(aa, first.call, true);
    first.fake.answer = () => {
      first.fake.close();
      l.attach(aa, second.call, false);
      return 'closed';
    };
    second.fake.answer = () => [];
    await l.requestPeer(aa, 0x0101, []);
    expect(first.fake.sent).toHaveLength(1);
    expect(second.fake.sent).toHaveLength(1);
    // A refusal is the peer's answer: never sent again.
    second.fake.answer = () => ({ status: 409 });
    await expect(l.requestPeer(aa, 0x0101, [])).rejects.toMatchObject({ code: 'REMOTE_ERROR', status: 409 });
    expect(second.fake.sent).toHaveLength(2);
  });

  it('marks a peer unreachable after three failed calls without a link for a request timeout', async () => {
    const aa = fakeNeighbour('aa', [zone], { linklessSince: 1_000 });
    const t = links('bb', [aa]);
    t.failCalls(true);
    await t.l.connect(aa);
    await t.l.connect(aa);
    expect(t.events.unreachable).toEqual([]);
    t.clock.advance(10_000);
    await t.l.connect(aa);
    expect(t.events.unreachable).toEqual(['aa']);
    expect(t.counters.refused).toEqual({ 'connect-failed': 3 });
    expect(t.events.settles).toBe(3);
    expect(t.l.connecting).toBe(0);
  });

  it('calls the neighbours left without a link: the lower id at once, the higher after a claim timeout', () => {
    const higher = fakeNeighbour('cc', [zone], { linklessSince: 1_000 });
    const lower = fakeNeighbour('aa', [zone], { linklessSince: 1_000 });
    const t = links('bb', [higher, lower]);
    t.l.connectMissing([higher, lower]);
    expect(t.placed).toHaveLength(1);
    expect(higher.connecting).toBeDefined();
    expect(lower.connecting).toBeUndefined();
    t.clock.advance(3_001);
    t.l.connectMissing([higher, lower]);
    expect(lower.connecting).toBeDefined();
  });

  describe('behind NATs (docs/decisions/dht-nat.md)', () => {
    const natted = (id: string) =>
      fakeNeighbour(id, [zone], {
        linklessSince: 1_000,
        contact: {
          uri: `sip:${id}@10.91.1.2:5060`,
          candidates: [
            { type: 'host', address: '10.91.1.2', port: 7000 },
            { type: 'srflx', address: '203.0.113.6', port: 7000 },
          ],
        },
      });

    it('never calls a neighbour behind a NAT from a public node: it calls in itself', async () => {
      const n = natted('cc');
      const t = links('bb', [n]);
      expect(t.l.callable(n)).toBe(false);
      await t.l.connect(n);
      t.clock.advance(10_000);
      t.l.connectMissing([n]);
      expect(t.placed).toHaveLength(0);
      expect(t.counters.refused).toEqual({});
      expect(t.events.unreachable).toEqual([]);
    });

    it('calls every public neighbour at once from behind a NAT, whatever the ids, and learns from each link', async () => {
      const higher = fakeNeighbour('cc', [zone], { linklessSince: 1_000 });
      const lower = fakeNeighbour('aa', [zone], { linklessSince: 1_000 });
      const other = natted('dd');
      const t = links('bb', [higher, lower, other], { behindNat: true });
      t.l.connectMissing([higher, lower, other]);
      await Promise.all([higher.connecting, lower.connecting, other.connecting]);
      // Behaviour changed with the relay (dht-nat.md part 4): a neighbour behind a NAT too is reached through a
      // common neighbour, not by SIP to its URI, and by the lower id of the two only.
      expect(t.placed).toHaveLength(2);
      expect(t.relayed).toEqual(['dd']);
      expect(t.events.opened).toHaveLength(3);
    });

    it('leaves the session between two NATed peers to the lower id', async () => {
      const lower = natted('aa');
      const t = links('bb', [lower], { behindNat: true });
      expect(t.l.callable(lower)).toBe(false);
      t.l.connectMissing([lower]);
      await lower.connecting;
      expect([t.placed.length, t.relayed.length]).toEqual([0, 0]);
    });
  });
});
