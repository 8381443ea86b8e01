import { Flag, Operation, Option, decodeAckTrailer, decodeFragment, encodeFragment } from '@xpp/wire';
import { describe, expect, it } from 'vitest';
import { Operations, type ReliableChannel } from '@xpp/reliability';
import { FakeClock, MemoryNetwork, memoryChannelPair } from '@xpp/reliability/testing';
import { collect, handDriven, payloadMessage } from './helpers.js';

/** Two channels over an in-memory network on one fake clock, each side counting the datagrams it sent. */
function pair(piggybackAcks: boolean, network: { loss?: number; seed?: number } = {}) {
  const clock = new FakeClock();
  const net = new MemoryNetwork({ clock, latency: 5, ...network });
  const [a, b] = memoryChannelPair(net, { clock, piggybackAcks });
  return { clock, a, b };
}

async function settle<T>(clock: FakeClock, promise: Promise<T>, limitMs = 120_000): Promise<T> {
  let done = false;
  const tracked = promise.finally(() => {
    done = true;
  });
  for (let t = 0; t < limitMs && !done; t++) {
    clock.advance(1);
    for (let i = 0; i < 5; i++) await Promise.resolve();
  }
  return tracked;
}

/** Runs `count` PING requests one after the other; the datagrams each side sent for them, after a quiet 10 ms. */
async function pings(clock: FakeClock, a: ReliableChannel, b: ReliableChannel, count: number) {
  await settle(clock, Promise.all([a.open(), b.open()]));
  const client = new Operations(a, { clock });
  new Operations(b, { clock });
  const before = { a: a.stats.datagramsSent, b: b.stats.datagramsSent };
  const ackBefore = { a: a.stats.ackDatagramsSent, b: b.stats.ackDatagramsSent };
  for (let i = 0; i < count; i++) {
    const response = await settle(
      clock,
      client.request(Operation.PING.type, [Option.DATA.option(new Uint8Array([i]))]),
    );
    expect(response.response).toBe(true);
  }
  clock.advance(10);
  return {
    sentA: a.stats.datagramsSent - before.a,
    sentB: b.stats.datagramsSent - before.b,
    acksA: a.stats.ackDatagramsSent - ackBefore.a,
    acksB: b.stats.ackDatagramsSent - ackBefore.b,
  };
}

describe('piggybacked ACKs (spec §5.2 profile v2), fake clock', () => {
  it('a response acknowledges its request: no ACK datagram from the responder', async () => {
    const { clock, a, b } = pair(true);
    const n = await pings(clock, a, b, 20);
    // the responder sends nothing but its 20 responses; the requester's ACK of each response rides on the next
    // request, and only the last one goes alone (after ackDelay)
    expect(n).toEqual({ sentA: 21, sentB: 20, acksA: 1, acksB: 0 });
    expect(b.stats.piggybackedAcks).toBe(20);
    expect(a.stats.piggybackedAcks).toBe(19);
    expect(a.stats).toMatchObject({ pendingMessages: 0, outstanding: 0, drops: { 'bad-ack': 0 } });
  });

  it('without the option every exchange still costs stand-alone ACKs (the baseline)', async () => {
    const { clock, a, b } = pair(false);
    const n = await pings(clock, a, b, 20);
    expect(n.acksB).toBeGreaterThan(0);
    expect(n.sentA + n.sentB).toBeGreaterThan(40 + 2);
    expect(a.stats.piggybackedAcks + b.stats.piggybackedAcks).toBe(0);
  });

  it('sends a stand-alone ACK when nothing leaves within ackDelay, at once for the second fragment', () => {
    const { clock, sent, channel } = handDriven({ piggybackAcks: true });
    const tap = handDriven({ localId: 2, remoteId: 1, initialSeq: 500, peerInitialSeq: 100 });
    for (let i = 0; i < 3; i++) tap.channel.send(payloadMessage(i, 10)).catch(() => {});
    channel.receive(tap.sent[0]!);
    clock.advance(1);
    expect(sent).toHaveLength(0);
    clock.advance(1); // ackDelay (2 ms): nothing else left, so the ACK goes alone
    expect(sent.map((d) => decodeFragment(d).flags)).toEqual([Flag.ACK]);
    sent.length = 0;
    channel.receive(tap.sent[1]!);
    channel.receive(tap.sent[2]!); // the second unacknowledged one: after this turn, without waiting
    clock.advance(0);
    expect(sent).toHaveLength(1);
    const ack = decodeFragment(sent[0]!);
    expect([ack.flags, ack.seq]).toEqual([Flag.ACK, 502]);
    tap.channel.close();
    channel.close();
  });

  it('puts pending ACKs in the trailer of a data fragment, and a retransmission carries fresh ones only', () => {
    const { clock, sent, channel } = handDriven({ piggybackAcks: true });
    const tap = handDriven({ localId: 2, remoteId: 1, initialSeq: 500, peerInitialSeq: 100 });
    tap.channel.send(payloadMessage(1, 10)).catch(() => {});
    channel.receive(tap.sent[0]!);
    const message = payloadMessage(2, 20);
    channel.send(message).catch(() => {});
    expect(sent).toHaveLength(1);
    const f = decodeFragment(sent[0]!);
    expect(f.flags).toBe(Flag.ACK | Flag.REL | Flag.LFR);
    expect(f.seq).toBe(101);
    const { data, ranges } = decodeAckTrailer(f.payload);
    expect(Buffer.from(data).equals(message)).toBe(true);
    // the new number, then the in-order history (the same number here)
    expect(ranges).toEqual([
      { first: 501, count: 1 },
      { first: 501, count: 1 },
    ]);
    clock.advance(2); // the ACK left with the data: none follows alone
    expect(sent).toHaveLength(1);
    sent.length = 0;
    clock.advance(498); // RTO: the same fragment again, clean, since nothing waits to be acknowledged
    const again = decodeFragment(sent[0]!);
    expect([again.seq, again.flags]).toEqual([101, Flag.REL | Flag.LFR]);
    expect(Buffer.from(again.payload).equals(message)).toBe(true);
    tap.channel.close();
    channel.close();
  });

  it('takes the ACK and the data of a piggybacked fragment, and drops one with a broken trailer whole', () => {
    const { sent, channel } = handDriven({ piggybackAcks: true });
    const delivered = collect(channel);
    channel.send(payloadMessage(1, 10)).catch(() => {});
    expect(channel.stats.outstanding).toBe(1);
    const message = payloadMessage(9, 12);
    const withTrailer = (trailer: number[]) =>
      encodeFragment({
        flags: Flag.ACK | Flag.REL | Flag.LFR,
        seq: 501,
        localId: 2,
        remoteId: 1,
        payload: Uint8Array.from([...message, ...trailer]),
      });
    channel.receive(withTrailer([0, 102, 0, 1, 1])); // acknowledges 102, which was never sent: ignored
    expect(channel.stats.drops['bad-ack']).toBe(0);
    expect(channel.stats.outstanding).toBe(1);
    channel.receive(withTrailer([0, 101, 0, 0, 1])); // a range of count 0: the whole fragment goes
    channel.receive(withTrailer([0, 101, 0, 1, 2])); // two ranges announced, one present
    channel.receive(withTrailer([0, 101, 0, 1, 0])); // zero ranges
    expect(channel.stats.drops['bad-ack']).toBe(3);
    expect(delivered).toHaveLength(1);
    expect(channel.stats.duplicates).toBe(0);
    channel.receive(withTrailer([0, 101, 0, 1, 1]));
    expect(channel.stats.outstanding).toBe(0);
    expect(channel.stats.duplicates).toBe(1); // the data was taken once, and this copy counted as a duplicate
    expect(delivered.map((m) => Buffer.from(m.bytes).equals(message))).toEqual([true]);
    expect(sent.length).toBeGreaterThan(0);
    channel.close();
  });

  it('a channel without the option reads such a fragment as a bare ACK: why the option is negotiated', () => {
    const { channel } = handDriven();
    const delivered = collect(channel);
    channel.send(payloadMessage(1, 10)).catch(() => {});
    channel.receive(
      encodeFragment({
        flags: Flag.ACK | Flag.REL | Flag.LFR,
        seq: 501,
        localId: 2,
        remoteId: 1,
        payload: Uint8Array.from([...payloadMessage(9, 12), 0, 101, 0, 1, 1]),
      }),
    );
    expect(delivered).toHaveLength(0);
    expect(channel.stats.drops['bad-ack']).toBe(1);
    channel.close();
  });

  it('every request is answered over 20% loss, with and without piggybacking', async () => {
    for (const piggybackAcks of [true, false]) {
      const { clock, a, b } = pair(piggybackAcks, { loss: 0.2, seed: 5 });
      await settle(clock, Promise.all([a.open(), b.open()]));
      const client = new Operations(a, { clock });
      new Operations(b, { clock });
      const data = Array.from({ length: 60 }, (_, i) => payloadMessage(i, 50 + i * 40));
      const requests = data.map((d) => client.request(Operation.PING.type, [Option.DATA.option(d)]));
      const responses = await settle(clock, Promise.all(requests), 600_000);
      responses.forEach((r, i) =>
        expect(Buffer.from(Option.DATA.find(r.options)!).equals(data[i]!)).toBe(true),
      );
      expect(a.stats.retransmits + b.stats.retransmits).toBeGreaterThan(0);
      if (piggybackAcks) expect(b.stats.piggybackedAcks).toBeGreaterThan(0);
      a.close();
      b.close();
    }
  });
});
