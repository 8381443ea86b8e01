import { Fragmenter } from '@xpp/fragment';
import { type AckRange, Flag, decodeFragment } from '@xpp/wire';
import { describe, expect, it } from 'vitest';
import type { ChannelOptions, ReceivedMessage } from '../src/index.js';
import { resolveChannelOptions } from '../src/internal/channel-options.js';
import { Receiver } from '../src/internal/receiver.js';
import { FakeClock } from '../src/testing/index.js';
import { payloadMessage } from './helpers.js';

/** A receive path alone; the peer's fragments of `message` are numbered from 501 (its SYN is 500). */
function receiver(options: Partial<ChannelOptions> = {}) {
  const clock = new FakeClock();
  const o = resolveChannelOptions({ localId: 1, remoteId: 2, port: { send: () => {} }, ...options });
  const acks: { seq: number; ranges: readonly AckRange[] | undefined }[] = [];
  const drops: string[] = [];
  const delivered: ReceivedMessage[] = [];
  let synSeen = 0;
  const r = new Receiver({
    clock,
    options: o,
    maxAckPayload: 1000,
    sendAck: (seq, ranges) => acks.push({ seq, ranges }),
    drop: (reason) => drops.push(reason),
    peerSyn: () => synSeen++,
    deliver: (m) => delivered.push(m),
  });
  const fragments = (message: Uint8Array, seq: number) =>
    new Fragmenter({ maxDatagramSize: 576 })
      .fragment(message, seq, { localId: 2, remoteId: 1 })
      .map((d) => decodeFragment(d));
  return { clock, r, acks, drops, delivered, fragments, synSeen: () => synSeen };
}

describe('Receiver', () => {
  it('drops data before the peer SYN, then acknowledges the SYN after the current turn', () => {
    const { clock, r, acks, drops, synSeen } = receiver();
    r.onReliable(501, Flag.REL | Flag.LFR, new Uint8Array(0));
    expect(drops).toEqual(['no-syn']);
    r.onReliable(500, Flag.SYN | Flag.REL, new Uint8Array(0));
    expect(synSeen()).toBe(1);
    expect(r.peerSynSeen).toBe(true);
    expect(acks).toEqual([]);
    clock.advance(0);
    expect(acks).toEqual([{ seq: 500, ranges: undefined }]);
  });

  it('counts a repeated SYN as a duplicate and drops one with another number', () => {
    const { r, drops } = receiver();
    r.onReliable(500, Flag.SYN | Flag.REL, new Uint8Array(0));
    r.onReliable(500, Flag.SYN | Flag.REL, new Uint8Array(0));
    r.onReliable(77, Flag.SYN | Flag.REL, new Uint8Array(0));
    expect(r.stats.duplicates).toBe(1);
    expect(drops).toEqual(['unexpected-syn']);
  });

  it('reassembles a message in order and acknowledges its burst in one ACK datagram with the history', () => {
    const { clock, r, acks, delivered, fragments } = receiver({ ackDelay: 0 });
    r.acceptPeerSyn(500);
    const message = payloadMessage(3, 2000);
    const parts = fragments(message, 501);
    expect(parts.length).toBeGreaterThan(2);
    for (const f of parts.reverse()) r.onReliable(f.seq, f.flags, f.payload);
    expect(delivered).toHaveLength(1);
    expect(delivered[0]?.reliable).toBe(true);
    expect(Buffer.from(delivered[0]!.bytes).equals(message)).toBe(true);
    clock.advance(0);
    expect(acks).toHaveLength(1);
    expect(r.stats.ackDatagramsSent).toBe(1);
  });

  it('holds the ACK of a small message for ackDelay unless ackEvery are pending', () => {
    const { clock, r, acks, fragments } = receiver({ ackDelay: 20, ackEvery: 2 });
    r.acceptPeerSyn(500);
    const [one] = fragments(payloadMessage(1, 10), 501);
    r.onReliable(one!.seq, one!.flags, one!.payload);
    clock.advance(19);
    expect(acks).toHaveLength(0);
    clock.advance(1);
    expect(acks).toHaveLength(1);
    const [two] = fragments(payloadMessage(2, 10), 502);
    const [three] = fragments(payloadMessage(3, 10), 503);
    r.onReliable(two!.seq, two!.flags, two!.payload);
    r.onReliable(three!.seq, three!.flags, three!.payload);
    clock.advance(0);
    expect(acks).toHaveLength(2);
  });

  it('drops an undecodable message and counts decoded ones', () => {
    const { r, drops, delivered } = receiver();
    r.deliver(new Uint8Array([1, 2, 3]), false);
    expect(drops).toEqual(['bad-message']);
    r.deliver(payloadMessage(1, 5), false);
    expect(delivered).toHaveLength(1);
    expect(r.stats.messagesReceived).toBe(1);
  });

  it('close clears the pending ACK timer and sends nothing more', () => {
    const { clock, r, acks } = receiver();
    r.onReliable(500, Flag.SYN | Flag.REL, new Uint8Array(0));
    expect(r.timerArmed).toBe(true);
    r.close();
    expect(r.timerArmed).toBe(false);
    clock.advance(1000);
    expect(acks).toEqual([]);
  });

  it('hands its pending ACKs to a leaving data fragment (with the history), or leaves them if they do not fit', () => {
    const { clock, r, acks, fragments } = receiver({ piggybackAcks: true });
    r.acceptPeerSyn(500);
    const [one] = fragments(payloadMessage(1, 10), 501);
    const [three] = fragments(payloadMessage(3, 10), 503);
    expect(r.takeAcks(8)).toBeUndefined(); // nothing waits
    r.onReliable(one!.seq, one!.flags, one!.payload);
    expect([r.acksPending, r.timerArmed]).toEqual([true, true]);
    expect(r.takeAcks(8)).toEqual([
      { first: 501, count: 1 },
      { first: 501, count: 1 },
    ]);
    // the flush timer stays (cheaper than clearing it per exchange) and finds nothing to send
    expect([r.acksPending, r.timerArmed, r.stats.piggybackedAcks]).toEqual([false, true, 1]);
    clock.advance(10);
    expect([acks, r.timerArmed]).toEqual([[], false]);
    r.onReliable(three!.seq, three!.flags, three!.payload); // held out of order: a second run would not fit
    r.onReliable(501, one!.flags, one!.payload); // a duplicate, acknowledged again
    expect(r.takeAcks(1)).toBeUndefined();
    expect(r.takeAcks(2)).toEqual([
      { first: 503, count: 1 },
      { first: 501, count: 1 },
    ]); // no room left for the history
    clock.advance(10);
    expect(acks).toEqual([]);
  });
});
