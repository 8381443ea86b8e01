import { Fragmenter } from '@xpp/fragment';
import { Flag, decodeFragment, encodeAckRanges } from '@xpp/wire';
import { describe, expect, it } from 'vitest';
import { type ChannelOptions, ReliabilityError } from '../src/index.js';
import { resolveChannelOptions } from '../src/internal/channel-options.js';
import { Sender } from '../src/internal/sender.js';
import { FakeClock } from '../src/testing/index.js';
import { payloadMessage } from './helpers.js';

/** A send path alone, established at sequence 100, its datagrams decoded into `sent`. */
function sender(options: Partial<ChannelOptions> = {}, established = true) {
  const clock = new FakeClock();
  const o = resolveChannelOptions({ localId: 1, remoteId: 2, port: { send: () => {} }, ...options });
  const sent: { seq: number; flags: number }[] = [];
  const failures: ReliabilityError[] = [];
  const drops: string[] = [];
  let synAcked = 0;
  const s = new Sender(
    {
      clock,
      options: o,
      fragmenter: new Fragmenter({ maxDatagramSize: o.maxDatagramSize }),
      allocate: (size) => new Uint8Array(size),
      transmit: (d) => {
        const f = decodeFragment(d);
        sent.push({ seq: f.seq, flags: f.flags });
      },
      drop: (reason) => drops.push(reason),
      synAcked: () => synAcked++,
      fail: (error) => failures.push(error),
    },
    100,
    established,
  );
  return { clock, s, sent, failures, drops, synAcked: () => synAcked };
}

describe('Sender', () => {
  it('holds data back until its SYN is acknowledged, then sends it', () => {
    const { s, sent, synAcked } = sender({}, false);
    void s.enqueue(payloadMessage(1, 10), undefined, undefined);
    expect(s.queueSyn()).toBe(true);
    expect(s.queueSyn()).toBe(false);
    s.pump();
    expect(sent).toEqual([{ seq: 100, flags: Flag.SYN | Flag.REL }]);
    s.onAck(100, new Uint8Array(0));
    expect(synAcked()).toBe(1);
    expect(sent[1]).toEqual({ seq: 101, flags: Flag.REL | Flag.LFR });
  });

  it('resolves a message once all its fragments are acknowledged, ranges included', async () => {
    const { s, sent } = sender({ maxDatagramSize: 576 });
    let done = false;
    const p = s.enqueue(payloadMessage(1, 2000), undefined, undefined).then(() => (done = true));
    s.pump();
    const count = sent.length;
    expect(count).toBeGreaterThan(2);
    s.onAck(100, encodeAckRanges([{ first: 101, count: count - 1 }]));
    await p;
    expect(done).toBe(true);
    expect(s.stats.messagesSent).toBe(1);
    expect(s.window.outstanding).toBe(0);
  });

  it('keeps within the congestion window', () => {
    const { s, sent } = sender({ initialWindow: 3 });
    for (let i = 0; i < 10; i++) void s.enqueue(payloadMessage(i, 10), undefined, undefined);
    s.pump();
    expect(sent).toHaveLength(3);
    expect(s.inFlight).toBe(3);
  });

  it('fast-retransmits a fragment three later ones overtook', () => {
    const { s, sent } = sender();
    for (let i = 0; i < 5; i++) void s.enqueue(payloadMessage(i, 10), undefined, undefined);
    s.pump();
    for (const seq of [101, 102, 103]) s.onAck(seq, new Uint8Array(0));
    expect(s.stats.fastRetransmits).toBe(1);
    expect(sent.at(-1)?.seq).toBe(100);
    expect(s.stats.retransmits).toBe(1);
  });

  it('resends everything on a timeout and gives up after maxRetries with a TIMEOUT naming the message', async () => {
    const { clock, s, sent, failures } = sender({ maxRetries: 2, initialRto: 100, minRto: 100 });
    const p = s.enqueue(payloadMessage(7, 10), undefined, undefined);
    const outcome = p.then(
      () => undefined,
      (e: ReliabilityError) => e,
    );
    s.pump();
    clock.advance(100);
    expect(s.stats.timeouts).toBe(1);
    expect(sent).toHaveLength(2);
    clock.advance(10_000);
    expect(failures).toHaveLength(1);
    expect(failures[0]?.code).toBe('TIMEOUT');
    expect((await outcome)?.message).toContain('request number 7');
  });

  it('refuses a message beyond maxQueuedOctets', () => {
    const { s } = sender({ maxQueuedOctets: 100 });
    void s.enqueue(payloadMessage(1, 50), undefined, undefined);
    expect(s.refuse(60)?.code).toBe('QUEUE_FULL');
    expect(s.refuse(10)).toBeUndefined();
  });

  it('withdraws a message aborted before any of it left', async () => {
    const { s, sent } = sender({}, false);
    s.queueSyn();
    const controller = new AbortController();
    const p = s.enqueue(payloadMessage(1, 10), undefined, controller.signal).then(
      () => undefined,
      (e: ReliabilityError) => e,
    );
    s.pump();
    controller.abort();
    expect((await p)?.code).toBe('ABORTED');
    s.onAck(100, new Uint8Array(0));
    expect(sent).toHaveLength(1);
  });

  it('counts malformed ACK ranges and rejects the pending on close, clearing its timer', async () => {
    const { clock, s, drops } = sender();
    const p = s.enqueue(payloadMessage(1, 10), undefined, undefined).then(
      () => undefined,
      (e: ReliabilityError) => e,
    );
    s.pump();
    s.onAck(999, new Uint8Array([1, 2, 3]));
    expect(drops).toEqual(['bad-ack']);
    expect(clock.pending).toBe(1);
    s.close(new ReliabilityError('CLOSED', 'closed'));
    expect((await p)?.code).toBe('CLOSED');
    expect(clock.pending).toBe(0);
    expect(s.pending.size).toBe(0);
  });

  it('takes a piggybacked ACK: its first number gives the RTT sample, its ranges the rest', () => {
    const { clock, s, drops } = sender();
    for (let i = 0; i < 4; i++) void s.enqueue(payloadMessage(i, 10), undefined, undefined);
    s.pump();
    expect(s.window.outstanding).toBe(4);
    clock.advance(30);
    s.onPiggybackedAck([
      { first: 100, count: 1 },
      { first: 101, count: 2 },
      { first: 0x9000, count: 0x100 }, // far outside the window: ignored
    ]);
    expect([s.window.outstanding, s.stats.messagesSent, s.rto.srtt]).toEqual([1, 3, 30]);
    s.onPiggybackedAck([]);
    expect([s.window.outstanding, drops]).toEqual([1, []]);
  });
});
