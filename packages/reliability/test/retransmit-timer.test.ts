import { describe, expect, it } from 'vitest';
import { RetransmitTimer } from '../src/internal/retransmit-timer.js';
import { FakeClock } from '../src/testing/index.js';

function timer(outstanding = true) {
  const clock = new FakeClock();
  const events: string[] = [];
  const state = { outstanding };
  const t = new RetransmitTimer({
    clock,
    outstanding: () => state.outstanding,
    probe: (now) => events.push(`probe@${now}`),
    timeout: (now) => events.push(`timeout@${now}`),
  });
  return { clock, events, state, t };
}

describe('RetransmitTimer', () => {
  it('without a probe deadline (no RTT yet) times out once, at the RTO', () => {
    const { clock, events, t } = timer();
    t.start(500, 500);
    clock.advance(499);
    expect(events).toEqual([]);
    clock.advance(1);
    expect(events).toEqual(['timeout@500']);
    expect(t.armed).toBe(false);
  });

  it('probes before the timeout, then at doubling intervals until the timeout is due', () => {
    const { clock, events, t } = timer();
    t.start(1000, 100);
    clock.advance(2000);
    expect(events).toEqual(['probe@100', 'probe@300', 'probe@700', 'timeout@1000']);
  });

  it('start keeps running deadlines; restart after progress moves them', () => {
    const { clock, events, t } = timer();
    t.start(500, 500);
    clock.advance(300);
    t.start(500, 500);
    expect(t.rtoDeadline).toBe(500);
    t.restart(500, 500);
    expect(t.rtoDeadline).toBe(800);
    clock.advance(499);
    expect(events).toEqual([]);
    clock.advance(1);
    expect(events).toEqual(['timeout@800']);
  });

  it('holds one clock timer, re-armed only for an earlier deadline', () => {
    const { clock, t } = timer();
    t.start(500, 500);
    t.restart(1000, 1000);
    expect(clock.pending).toBe(1);
    t.restart(200, 200);
    expect(clock.pending).toBe(1);
    expect(clock.next()).toBe(200);
  });

  it('stopped when nothing is outstanding, fires once and does nothing', () => {
    const { clock, events, state, t } = timer();
    t.start(500, 100);
    state.outstanding = false;
    t.stop();
    expect(t.armed).toBe(true);
    clock.advance(1000);
    expect(events).toEqual([]);
    expect(t.armed).toBe(false);
    expect(clock.pending).toBe(0);
  });

  it('cancel clears the clock timer', () => {
    const { clock, t } = timer();
    t.start(500, 100);
    t.cancel();
    expect(clock.pending).toBe(0);
    expect(t.armed).toBe(false);
  });
});
