import { describe, expect, it } from 'vitest';
import { CongestionWindow, RtoEstimator } from '@xpp/reliability';

describe('RtoEstimator (RFC 6298)', () => {
  it('starts at T1 = 500 ms before any sample (§2.1, SIP T1 instead of 1 s)', () => {
    expect(new RtoEstimator().rto).toBe(500);
  });

  // Each row: samples fed in order, then SRTT, RTTVAR and RTO expected after the last one.
  it.each([
    { samples: [100], srtt: 100, rttvar: 50, rto: 300 }, // §2.2: SRTT=R, RTTVAR=R/2, RTO=SRTT+4·RTTVAR
    { samples: [100, 100], srtt: 100, rttvar: 37.5, rto: 250 }, // §2.3: RTTVAR=3/4·50+1/4·0
    { samples: [100, 200], srtt: 112.5, rttvar: 62.5, rto: 362.5 }, // RTTVAR=3/4·50+1/4·100, SRTT=7/8·100+1/8·200
    { samples: [10, 10, 10, 10], srtt: 10, rttvar: (10 * (3 / 4) ** 3) / 2, rto: 200 }, // floored at minRto
    { samples: [3000], srtt: 3000, rttvar: 1500, rto: 4000 }, // capped at T2
  ])('samples $samples → SRTT $srtt, RTTVAR $rttvar, RTO $rto', ({ samples, srtt, rttvar, rto }) => {
    const e = new RtoEstimator();
    for (const s of samples) e.sample(s);
    expect(e.srtt).toBeCloseTo(srtt, 9);
    expect(e.rttvar).toBeCloseTo(rttvar, 9);
    expect(e.rto).toBeCloseTo(rto, 9);
  });

  it('uses the clock granularity when RTTVAR is below it (§2.3: max(G, K·RTTVAR))', () => {
    const e = new RtoEstimator({ minRto: 0, granularity: 5 });
    for (let i = 0; i < 50; i++) e.sample(100);
    expect(e.rto).toBeCloseTo(105, 3);
  });

  it('doubles on each expiry up to T2 = 4 s and a valid sample ends the backoff (§5.5, §5.7)', () => {
    const e = new RtoEstimator();
    const seen = [e.rto];
    for (let i = 0; i < 6; i++) {
      e.backoff();
      seen.push(e.rto);
    }
    expect(seen).toEqual([500, 1000, 2000, 4000, 4000, 4000, 4000]);
    e.sample(100);
    expect(e.rto).toBe(300);
  });
});

describe('CongestionWindow', () => {
  it('starts at 10, slow-starts to ssthresh, then grows by one per window (AIMD)', () => {
    const w = new CongestionWindow({ maxWindow: 1000 });
    expect(w.window).toBe(10);
    w.onLoss();
    expect(w.window).toBe(5);
    expect(w.ssthresh).toBe(5);
    for (let i = 0; i < 5; i++) w.onAck();
    expect(w.window).toBe(6);
    for (let i = 0; i < 6; i++) w.onAck();
    expect(w.window).toBe(7);
  });

  it('restarts from 1 after a timeout and slow-starts back to half the flight', () => {
    const w = new CongestionWindow({ maxWindow: 1000 });
    for (let i = 0; i < 30; i++) w.onAck();
    expect(w.window).toBe(40);
    w.onTimeout(40);
    expect(w.window).toBe(1);
    expect(w.ssthresh).toBe(20);
    for (let i = 0; i < 19; i++) w.onAck();
    expect(w.window).toBe(20);
    w.onAck();
    expect(w.window).toBe(20);
  });

  it('never exceeds the peer bound', () => {
    const w = new CongestionWindow({ maxWindow: 12 });
    for (let i = 0; i < 100; i++) w.onAck();
    expect(w.window).toBe(12);
  });
});
