import { FragmentError } from '@xpp/fragment';
import { describe, expect, it } from 'vitest';
import type { ReliabilityError } from '../src/index.js';
import { Keepalive } from '../src/internal/keepalive.js';
import { FakeClock } from '../src/testing/index.js';

function keepalive(interval = 1000, misses = 3) {
  const clock = new FakeClock();
  const sent: number[] = [];
  const ended: ReliabilityError[] = [];
  const partial: { deadline?: number; error?: FragmentError } = {};
  const k = new Keepalive({
    clock,
    interval,
    misses,
    sendKeepalive: () => sent.push(clock.now()),
    partialDeadline: () => partial.deadline,
    partialTimeout: () => partial.error,
    fail: (error) => ended.push(error),
    dead: (error) => ended.push(error),
  });
  return { clock, k, sent, ended, partial };
}

describe('Keepalive', () => {
  it('sends a keepalive after an interval of silence, and none while the peer is heard', () => {
    const { clock, k, sent } = keepalive();
    clock.advance(900);
    k.heard();
    clock.advance(900);
    expect(sent).toEqual([]);
    clock.advance(100);
    expect(sent).toEqual([1900]);
    expect(k.sent).toBe(1);
  });

  it('declares the peer dead after `misses` unanswered keepalives in a row', () => {
    const { clock, sent, ended } = keepalive(1000, 3);
    clock.advance(10_000);
    expect(sent).toEqual([1000, 2000, 3000]);
    expect(ended.map((e) => e.code)).toEqual(['PEER_DEAD']);
    expect(clock.pending).toBe(0);
  });

  it('wakes for a partial message deadline and fails the session with REASSEMBLY_TIMEOUT', () => {
    const { clock, ended, partial } = keepalive(10_000);
    partial.deadline = 10_500;
    clock.advance(10_000);
    // the keepalive went out; the next wake is the partial deadline, not a whole interval later
    expect(clock.next()).toBe(10_500);
    partial.error = new FragmentError('PARTIAL_TIMEOUT', 'stuck');
    clock.advance(500);
    expect(ended.map((e) => e.code)).toEqual(['REASSEMBLY_TIMEOUT']);
  });

  it('stop clears its timer', () => {
    const { clock, k, sent } = keepalive();
    k.stop();
    expect(k.timerArmed).toBe(false);
    clock.advance(10_000);
    expect(sent).toEqual([]);
  });
});
