import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LtagAllocator } from '../src/demux/ltag-allocator.js';
import { SessionTable } from '../src/demux/session-table.js';
import { FakeClock } from '@xpp/fragment/testing';

describe('LtagAllocator', () => {
  it('hands out distinct non-zero ltags up to its bound, then LTAG_EXHAUSTED', () => {
    const allocator = new LtagAllocator({ maxActive: 5000 });
    const seen = new Set<number>();
    for (let i = 0; i < 5000; i++) seen.add(allocator.allocate());
    expect(seen.size).toBe(5000);
    expect(seen.has(0)).toBe(false);
    expect([...seen].every((l) => l >= 1 && l <= 0xffff)).toBe(true);
    expect(() => allocator.allocate()).toThrow(expect.objectContaining({ code: 'LTAG_EXHAUSTED' }));
  });

  it('fills every one of the 65535 ltags, scanning when random picks collide', () => {
    const allocator = new LtagAllocator({ maxActive: 0xffff });
    const seen = new Set<number>();
    for (let i = 0; i < 0xffff; i++) seen.add(allocator.allocate());
    expect(seen.size).toBe(0xffff);
    expect(() => allocator.allocate()).toThrow(expect.objectContaining({ code: 'LTAG_EXHAUSTED' }));
    const stuck = new LtagAllocator({ random: () => 1 });
    expect([stuck.allocate(), stuck.allocate(), stuck.allocate()]).toEqual([1, 2, 3]);
  });

  it('quarantines released ltags before reuse', () => {
    const clock = new FakeClock();
    let next = 0;
    const picks = [7, 7, 7, 7];
    const allocator = new LtagAllocator({
      clock,
      quarantineMs: 1000,
      random: () => picks[next++ % picks.length]!,
    });
    expect(allocator.allocate()).toBe(7);
    allocator.release(7);
    expect(allocator.allocate()).not.toBe(7);
    clock.advance(1000);
    expect(allocator.allocate()).toBe(7);
  });

  it('never hands out an ltag in use, whatever the order of operations', () => {
    fc.assert(
      fc.property(fc.array(fc.boolean(), { maxLength: 300 }), (ops) => {
        const clock = new FakeClock();
        const allocator = new LtagAllocator({
          clock,
          quarantineMs: 10,
          random: (min, max) => min + ((clock.now() * 7919) % (max - min)),
        });
        const live: number[] = [];
        for (const allocate of ops) {
          clock.advance(1);
          if (allocate || live.length === 0) {
            const ltag = allocator.allocate();
            expect(live).not.toContain(ltag);
            live.push(ltag);
          } else {
            allocator.release(live.shift()!);
          }
        }
        expect(allocator.size).toBe(live.length);
      }),
    );
  });
});

describe('SessionTable', () => {
  const alice = { address: '192.0.2.1', port: 4000 };
  const natRebound = { address: '192.0.2.1', port: 4999 };

  it('finds a session by own ltag and checks the peer ltag', () => {
    const table = new SessionTable<string>();
    table.add({ localLtag: 0xbbbb, peerLtag: 0xaaaa, session: 's1', remote: alice });
    const hit = table.route({ localId: 0xaaaa, remoteId: 0xbbbb }, alice);
    expect(hit).toMatchObject({ kind: 'session', fromKnownAddress: true });
    expect(hit.kind === 'session' && hit.entry.session).toBe('s1');
    expect(table.route({ localId: 0xaaaa, remoteId: 0xcccc }, alice)).toEqual({
      kind: 'drop',
      reason: 'UNKNOWN_LTAG',
    });
    expect(table.route({ localId: 0xdddd, remoteId: 0xbbbb }, alice)).toEqual({
      kind: 'drop',
      reason: 'PEER_LTAG_MISMATCH',
    });
    expect(table.stats).toMatchObject({ unknownLtag: 1, peerLtagMismatch: 1 });
  });

  it('reports a new source address and moves only on bind', () => {
    const table = new SessionTable<string>();
    table.add({ localLtag: 1, peerLtag: 2, session: 's' });
    expect(table.route({ localId: 2, remoteId: 1 }, alice)).toMatchObject({ fromKnownAddress: false });
    table.bind(1, alice);
    expect(table.route({ localId: 2, remoteId: 1 }, alice)).toMatchObject({ fromKnownAddress: true });
    // A NAT rebinding is only reported; the table keeps the old address until the endpoint authenticated it.
    expect(table.route({ localId: 2, remoteId: 1 }, natRebound)).toMatchObject({ fromKnownAddress: false });
    expect(table.get(1)?.remote).toEqual(alice);
    table.bind(1, natRebound);
    expect(table.get(1)?.remote).toEqual(natRebound);
    expect(table.stats.rebinds).toBe(1);
  });

  it('bounds its size and refuses duplicate ltags', () => {
    const table = new SessionTable<number>({ maxSessions: 2 });
    table.add({ localLtag: 1, peerLtag: 9, session: 1 });
    expect(() => table.add({ localLtag: 1, peerLtag: 9, session: 1 })).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    );
    table.add({ localLtag: 2, peerLtag: 9, session: 2 });
    expect(() => table.add({ localLtag: 3, peerLtag: 9, session: 3 })).toThrow(
      expect.objectContaining({ code: 'TOO_LARGE' }),
    );
    expect(table.remove(1)).toBe(true);
    expect(table.size).toBe(1);
  });
});
