import { describe, expect, it } from 'vitest';
import { DEFAULT_HOP_LIMIT, DhtError } from '@xpp/dht';
import { PendingForwardTable, nextHopLimit } from '../src/pending-forwards.js';
import { FakeClock } from '@xpp/reliability/testing';

function code(run: () => unknown): string {
  try {
    run();
    return 'accepted';
  } catch (error) {
    if (DhtError.is(error)) return `${error.code} ${error.status}`;
    throw error;
  }
}

describe('PendingForwardTable', () => {
  it('returns where a response goes back, once', () => {
    const table = new PendingForwardTable<number, string>({ clock: new FakeClock() });
    table.add(7, 'upstream A #3');
    expect(table.take(7)).toBe('upstream A #3');
    expect(table.take(7)).toBeUndefined();
    expect(table.size).toBe(0);
  });

  it('times entries out on the injected clock, oldest first, handing each over exactly once', () => {
    const clock = new FakeClock();
    const table = new PendingForwardTable<number, string>({ clock, timeoutMs: 1000 });
    table.add(1, 'a');
    clock.advance(400);
    table.add(2, 'b');
    expect(table.nextDeadline()).toBe(clock.now() + 600);
    clock.advance(599);
    expect(table.expire()).toEqual([]);
    clock.advance(1);
    expect(table.expire()).toEqual([{ key: 1, returnTo: 'a' }]);
    expect(table.nextDeadline()).toBe(clock.now() + 400);
    clock.advance(400);
    // A response arriving after its deadline is not delivered.
    expect(table.take(2)).toBeUndefined();
    expect(table.expire()).toEqual([]);
    expect(table.nextDeadline()).toBeUndefined();
  });

  it('is bounded: one more than maxEntries is PENDING_FULL (503) until entries leave', () => {
    const clock = new FakeClock();
    const table = new PendingForwardTable<number, number>({ clock, maxEntries: 3, timeoutMs: 10 });
    for (let i = 0; i < 3; i++) table.add(i, i);
    expect(code(() => table.add(3, 3))).toBe('PENDING_FULL 503');
    expect(code(() => table.add(0, 0))).toBe('INVALID_ARGUMENT 500');
    clock.advance(10);
    // Timed-out entries still hold their place until expire() hands them over for a 408 upstream.
    expect(code(() => table.add(3, 3))).toBe('PENDING_FULL 503');
    expect(table.expire()).toHaveLength(3);
    expect(code(() => table.add(3, 3))).toBe('accepted');
  });

  it('refuses nonsense bounds', () => {
    expect(code(() => new PendingForwardTable({ clock: new FakeClock(), maxEntries: 0 }))).toBe(
      'INVALID_ARGUMENT 500',
    );
    expect(code(() => new PendingForwardTable({ clock: new FakeClock(), timeoutMs: 0 }))).toBe(
      'INVALID_ARGUMENT 500',
    );
  });
});

describe('nextHopLimit', () => {
  it('decrements until the limit is spent, then refuses with 483', () => {
    let hops = DEFAULT_HOP_LIMIT;
    let forwarded = 0;
    while (code(() => (hops = nextHopLimit(hops))) === 'accepted') forwarded++;
    expect(forwarded).toBe(DEFAULT_HOP_LIMIT - 1);
    expect(code(() => nextHopLimit(1))).toBe('TOO_MANY_HOPS 483');
    expect(code(() => nextHopLimit(0))).toBe('TOO_MANY_HOPS 483');
    expect(code(() => nextHopLimit(256))).toBe('INVALID_ARGUMENT 500');
  });
});
