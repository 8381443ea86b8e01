import { describe, expect, it } from 'vitest';
import { systemClock } from '../src/index.js';
import { FAKE_WALL_START, FakeClock, WaitError, waitFor } from '../src/testing/index.js';

describe('FakeClock', () => {
  it('moves monotonic and wall time together, firing timers in time order, ties in setting order', () => {
    const clock = new FakeClock(100);
    const fired: string[] = [];
    clock.setTimer(() => fired.push('b'), 20);
    clock.setTimer(() => fired.push('a'), 10);
    clock.setTimer(() => fired.push('c'), 20);
    const cleared = clock.setTimer(() => fired.push('x'), 15);
    clock.clearTimer(cleared);
    expect(clock.pending).toBe(3);
    clock.advance(20);
    expect(fired).toEqual(['a', 'b', 'c']);
    expect(clock.now()).toBe(120);
    expect(clock.wallNow()).toBe(FAKE_WALL_START + 20);
  });

  it('fires a timer set while advancing in the same call if it falls due', () => {
    const clock = new FakeClock();
    const at: number[] = [];
    clock.setTimer(() => clock.setTimer(() => at.push(clock.now()), 5), 5);
    clock.advance(10);
    expect(at).toEqual([10]);
  });

  it('steps wall time alone, as NTP does, leaving timers and monotonic time where they were', () => {
    const clock = new FakeClock(0, 5_000);
    let fired = false;
    clock.setTimer(() => (fired = true), 10);
    clock.stepWall(-3_000);
    expect(clock.wallNow()).toBe(2_000);
    expect(clock.now()).toBe(0);
    expect(fired).toBe(false);
    expect(clock.run()).toBe(10);
    expect(fired).toBe(true);
  });
});

describe('systemClock', () => {
  it('gives Unix wall time, and monotonic time that never decreases from the process start wall time', () => {
    expect(Math.abs(systemClock.wallNow() - Date.now())).toBeLessThan(1000);
    let last = systemClock.now();
    expect(last).toBeGreaterThanOrEqual(performance.timeOrigin);
    for (let i = 0; i < 1000; i++) {
      const next = systemClock.now();
      expect(next).toBeGreaterThanOrEqual(last);
      last = next;
    }
  });
});

describe('waitFor', () => {
  it("resolves with the condition's first value that is not false, undefined or null", async () => {
    let n = 0;
    await expect(waitFor(() => (++n >= 3 ? n : undefined), { intervalMs: 1 })).resolves.toBe(3);
    await expect(waitFor(async () => 0)).resolves.toBe(0);
  });

  it('times out with a WaitError naming what was awaited, described when the deadline passes', async () => {
    let state = 'starting';
    const waiting = waitFor(() => false, { timeoutMs: 30, what: () => `ready (state ${state})` });
    state = 'stuck';
    const error: unknown = await waiting.catch((e: unknown) => e);
    expect(WaitError.is(error, 'TIMEOUT')).toBe(true);
    expect((error as Error).message).toBe('timed out after 30 ms waiting for ready (state stuck)');
  });

  it("stops on abort with the signal's reason, without waiting out the interval", async () => {
    const controller = new AbortController();
    const waiting = waitFor(() => false, { signal: controller.signal, intervalMs: 60_000 });
    setTimeout(() => controller.abort(new Error('stop')), 5);
    await expect(waiting).rejects.toThrow('stop');
    await expect(waitFor(() => true, { signal: AbortSignal.abort(new Error('early')) })).rejects.toThrow(
      'early',
    );
  });
});
