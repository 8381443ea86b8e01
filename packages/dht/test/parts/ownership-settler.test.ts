import { Zone } from '@xpp/can';
import { FakeClock } from '@xpp/reliability/testing';
import { describe, expect, it } from 'vitest';
import type { ZoneChangeEvent } from '../../src/node/events.js';
import { Ownership } from '../../src/node/ownership.js';
import { Settler } from '../../src/node/settler.js';
import type { OverlayNodeState } from '../../src/node/types.js';

const root = Zone.root(2);

describe('Ownership', () => {
  it('runs exclusive work in order, one at a time, even when one fails', async () => {
    const own = new Ownership({ changed: () => undefined });
    const log: string[] = [];
    let release!: () => void;
    const first = own.exclusive(async () => {
      log.push('first in');
      await new Promise<void>((resolve) => (release = resolve));
      log.push('first out');
    });
    const failing = own.exclusive(async () => {
      log.push('second');
      throw new Error('boom');
    });
    const third = own.exclusive(async () => {
      log.push('third');
      return 3;
    });
    await Promise.resolve();
    expect(log).toEqual(['first in']);
    release();
    await first;
    await expect(failing).rejects.toThrow('boom');
    expect(await third).toBe(3);
    expect(log).toEqual(['first in', 'first out', 'second', 'third']);
  });

  it('fans out each change of zones with the previous ones; vacating is quiet but moves the version on', () => {
    const changes: ZoneChangeEvent[] = [];
    const own = new Ownership({ changed: (e) => changes.push(e) });
    const [low] = root.split();
    own.set([root], 'bootstrap');
    own.set([low], 'invite');
    expect(changes.map((c) => [c.cause, c.previous.length, c.zones[0]?.equals(low)])).toEqual([
      ['bootstrap', 0, false],
      ['invite', 1, true],
    ]);
    expect(own.version).toBe(2);
    own.vacate();
    expect(own.zones).toEqual([]);
    expect(own.version).toBe(3);
    expect(changes).toHaveLength(2);
  });

  it('refuses writes into a zone being handed away, and everywhere while leaving', async () => {
    const own = new Ownership({ changed: () => undefined });
    const [low, high] = root.split();
    own.setState('peer');
    own.set([low, high], 'bootstrap');
    const inHigh = high.center();
    const inLow = low.center();
    const seen = await own.whileHandingOff(high, async () => [own.writable(inHigh), own.writable(inLow)]);
    expect(seen).toEqual([false, true]);
    expect(own.writable(inHigh)).toBe(true);
    await expect(own.whileHandingOff(high, () => Promise.reject(new Error('x')))).rejects.toThrow();
    expect(own.handingOff).toBeUndefined();
    own.setState('leaving');
    expect(own.writable(inLow)).toBe(false);
  });
});

function settlerFor(
  clock: FakeClock,
  init: { state?: () => OverlayNodeState; pass?: () => Promise<boolean> } = {},
) {
  const counts = { passes: 0, ticks: 0, failed: 0 };
  const settler = new Settler({
    clock,
    settleDelay: 50,
    refreshInterval: 1_000,
    state: init.state ?? (() => 'peer'),
    pass:
      init.pass ??
      (() => {
        counts.passes++;
        return Promise.resolve(true);
      }),
    tick: () => counts.ticks++,
    failed: () => counts.failed++,
  });
  return { settler, counts };
}

/** Lets the promise callbacks queued by a pass run. */
const flush = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('Settler', () => {
  it('coalesces the changes of one settle delay into one pass, and counts them settled after it', async () => {
    const clock = new FakeClock();
    const { settler, counts } = settlerFor(clock);
    settler.request();
    settler.request();
    settler.request();
    expect(settler.busy).toBe(true);
    expect(settler.settled).toBe(false);
    clock.advance(49);
    expect(counts.passes).toBe(0);
    clock.advance(1);
    await flush();
    expect(counts.passes).toBe(1);
    expect(settler.settled).toBe(true);
    expect(settler.busy).toBe(false);
  });

  it('runs again when a change comes during a pass; the change counts settled only after the second pass', async () => {
    const clock = new FakeClock();
    let release: (() => void) | undefined;
    let passes = 0;
    const { settler } = settlerFor(clock, {
      pass: () => {
        passes++;
        return passes === 1
          ? new Promise<boolean>((resolve) => (release = () => resolve(true)))
          : Promise.resolve(true);
      },
    });
    settler.request();
    clock.advance(50);
    expect(passes).toBe(1);
    settler.request();
    clock.advance(50);
    expect(settler.settled).toBe(false);
    release?.();
    await flush();
    expect(passes).toBe(2);
    expect(settler.settled).toBe(true);
  });

  it('leaves settled alone for the routine refresh, and a pass cut short by leaving settles nothing', async () => {
    const clock = new FakeClock();
    let state: OverlayNodeState = 'peer';
    const { settler, counts } = settlerFor(clock, {
      state: () => state,
      pass: () => {
        counts.passes++;
        state = 'leaving';
        return Promise.resolve(false);
      },
    });
    settler.startRefresh();
    clock.advance(1_000);
    expect(counts.ticks).toBe(1);
    expect(settler.settled).toBe(true);
    state = 'peer';
    settler.request();
    clock.advance(50);
    await flush();
    expect(counts.passes).toBeGreaterThan(0);
    expect(settler.settled).toBe(false);
  });

  it('counts a failed pass, and stop() clears every timer it armed (a later routine pass among them)', async () => {
    const clock = new FakeClock();
    const { settler, counts } = settlerFor(clock, { pass: () => Promise.reject(new Error('x')) });
    settler.request();
    clock.advance(50);
    await flush();
    expect(counts.failed).toBe(1);
    settler.startRefresh();
    settler.requestLater(5_000);
    settler.request();
    expect(clock.pending).toBe(3);
    settler.stop();
    expect(clock.pending).toBe(0);
  });
});
