import { describe, expect, it } from 'vitest';
import { CongestionControl } from '../src/internal/congestion-control.js';
import { FragmentState, type Outgoing, type SentFragment } from '../src/internal/send-window.js';

function fragment(seq: number): SentFragment {
  return {
    seq,
    message: {} as Outgoing,
    index: 0,
    cost: 0,
    datagram: undefined,
    state: FragmentState.InFlight,
    sentAt: 0,
    firstSentAt: 0,
    retransmitted: false,
    timeouts: 0,
    txOrder: -1,
  };
}

function sendAll(cc: CongestionControl, count: number): SentFragment[] {
  const out: SentFragment[] = [];
  for (let i = 0; i < count; i++) {
    const f = fragment(i);
    cc.sent(f);
    out.push(f);
  }
  return out;
}

function ack(cc: CongestionControl, f: SentFragment): void {
  f.state = FragmentState.Acked;
  cc.acked(f);
}

describe('CongestionControl', () => {
  it('grows by one fragment per ACK in slow start, up to the peer bound', () => {
    const cc = new CongestionControl({ initialWindow: 2, maxWindow: 5, dupThreshold: 3 });
    for (const f of sendAll(cc, 10)) ack(cc, f);
    expect(cc.window).toBe(5);
  });

  it('declares a fragment lost after three later ACKs and halves the window once for the burst', () => {
    const cc = new CongestionControl({ initialWindow: 20, maxWindow: 100, dupThreshold: 3 });
    const fs = sendAll(cc, 10);
    // 0 and 1 lost; 2..5 acknowledged.
    for (const f of fs.slice(2, 6)) ack(cc, f);
    const lost: number[] = [];
    cc.detectLosses(10, (f) => {
      f.state = FragmentState.Lost;
      lost.push(f.seq);
    });
    expect(lost).toEqual([0, 1]);
    // halved once: 20 + 4 ACKs in slow start = 24, then 12
    expect(cc.window).toBe(12);
    expect(cc.ssthresh).toBe(12);
  });

  it('needs fewer later ACKs when too little is outstanding for three (early retransmit)', () => {
    const cc = new CongestionControl({ initialWindow: 10, maxWindow: 100, dupThreshold: 3 });
    const fs = sendAll(cc, 2);
    ack(cc, fs[1] as SentFragment);
    const lost: number[] = [];
    cc.detectLosses(2, (f) => lost.push(f.seq));
    expect(lost).toEqual([0]);
  });

  it('a timeout sets the window to one and halves what was in flight into ssthresh', () => {
    const cc = new CongestionControl({ initialWindow: 10, maxWindow: 100, dupThreshold: 3 });
    sendAll(cc, 10);
    cc.timeout(10);
    expect(cc.window).toBe(1);
    expect(cc.ssthresh).toBe(5);
  });
});
