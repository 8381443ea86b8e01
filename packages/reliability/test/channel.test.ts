import { Flag, decodeAckRanges, decodeFragment, encodeFragment } from '@xpp/wire';
import { describe, expect, it } from 'vitest';
import { ReliabilityError, ReliableChannel } from '@xpp/reliability';
import { FakeClock, MemoryNetwork, memoryChannelPair } from '@xpp/reliability/testing';
import { collect, equalBytes, handDriven, payloadMessage, randomSizes } from './helpers.js';

function pair(options: ConstructorParameters<typeof MemoryNetwork>[0] = {}, channel = {}) {
  const clock = new FakeClock();
  const network = new MemoryNetwork({ clock, latency: 5, ...options });
  const [a, b] = memoryChannelPair(network, { clock, ...channel });
  return { clock, network, a, b };
}

const lone = handDriven;

async function settle<T>(clock: FakeClock, promise: Promise<T>, limitMs = 120_000): Promise<T> {
  let done = false;
  const tracked = promise.finally(() => {
    done = true;
  });
  for (let t = 0; t < limitMs && !done; t += 10) {
    clock.advance(10);
    await Promise.resolve();
  }
  return tracked;
}

describe('ReliableChannel on a fake clock', () => {
  it('opens with a simultaneous SYN exchange and delivers both ways in order', async () => {
    const { clock, a, b } = pair();
    const fromA = collect(b);
    const fromB = collect(a);
    await settle(clock, Promise.all([a.open(), b.open()]));
    expect(a.isOpen && b.isOpen).toBe(true);
    const messages = [payloadMessage(1, 10), payloadMessage(2, 5000), payloadMessage(3, 0)];
    await settle(clock, Promise.all([...messages.map((m) => a.send(m)), b.send(payloadMessage(9, 3))]));
    expect(fromA.map((r) => r.bytes)).toEqual(messages);
    expect(fromB).toHaveLength(1);
    expect(a.stats).toMatchObject({ pendingMessages: 0, inFlight: 0, outstanding: 0, messagesSent: 3 });
  });

  it('sends the SYN as golden vector 1 shapes it: SYN|REL, no payload, the initial sequence number', () => {
    const sent: Uint8Array[] = [];
    const channel = new ReliableChannel({
      localId: 0xaaaa,
      remoteId: 0xbbbb,
      initialSeq: 0x1234,
      clock: new FakeClock(),
      port: { send: (d) => sent.push(d) },
    });
    void channel.open().catch(() => {});
    expect(Buffer.from(sent[0]!).toString('hex')).toBe('10141234aaaabbbb');
    channel.close();
  });

  it('delivers exactly once in order over 20% loss, across the sequence wrap', async () => {
    const { clock, a, b } = pair({ loss: 0.2, seed: 7 }, { initialSeq: 0xfff0 });
    const received = collect(b);
    void b.open();
    const sizes = randomSizes(60, 40_000, 3);
    const messages = sizes.map((s, i) => payloadMessage(i, s));
    await settle(clock, Promise.all(messages.map((m) => a.send(m))), 600_000);
    expect(received).toHaveLength(messages.length);
    received.forEach((r, i) => expect(equalBytes(r.bytes, messages[i]!)).toBe(true));
    const s = a.stats;
    expect(s.retransmits).toBeGreaterThan(0);
    expect(s.fastRetransmits).toBeGreaterThan(0);
    expect(b.stats.duplicates).toBeGreaterThanOrEqual(0);
    expect(s).toMatchObject({ inFlight: 0, outstanding: 0, pendingMessages: 0, queuedOctets: 0 });
  });

  it('recovers one lost fragment by fast retransmit after three later ACKs, without a timeout', () => {
    const { sent, channel } = lone();
    void channel.send(payloadMessage(1, 10_000));
    const fragments = sent.splice(0).map((d) => decodeFragment(d));
    expect(fragments).toHaveLength(9);
    const ack = (seq: number) =>
      channel.receive(encodeFragment({ flags: Flag.ACK, seq, localId: 2, remoteId: 1 }));
    ack(101); // 102 is lost
    for (const seq of [103, 104]) ack(seq);
    expect(sent).toHaveLength(0); // two later ACKs are not enough
    ack(105);
    expect(sent.map((d) => decodeFragment(d).seq)).toEqual([102]);
    // four ACKs grew the window to 14; the loss halved it
    expect(channel.stats).toMatchObject({ fastRetransmits: 1, retransmits: 1, timeouts: 0, cwnd: 7 });
  });

  it('accepts ACK-range payloads and plain ACKs alike, and ignores hostile ranges cheaply', () => {
    const { sent, channel } = lone();
    void channel.send(payloadMessage(1, 10_000));
    sent.length = 0;
    const ranges = new Uint8Array([0, 102, 0, 3, 0x90, 0, 0, 0x10]); // 102..104, and one far outside
    channel.receive(encodeFragment({ flags: Flag.ACK, seq: 101, localId: 2, remoteId: 1, payload: ranges }));
    channel.receive(encodeFragment({ flags: Flag.ACK, seq: 105, localId: 2, remoteId: 1 }));
    expect(channel.stats.outstanding).toBe(9 - 5);
    channel.receive(
      encodeFragment({ flags: Flag.ACK, seq: 1, localId: 2, remoteId: 1, payload: new Uint8Array(3) }),
    );
    expect(channel.stats.drops['bad-ack']).toBe(1);
  });

  it('acknowledges a burst with one ACK datagram carrying ranges, and duplicates again', () => {
    const { clock, sent, channel } = lone();
    const delivered = collect(channel);
    const { sent: out, channel: tap } = lone({
      localId: 2,
      remoteId: 1,
      initialSeq: 500,
      peerInitialSeq: 100,
    });
    tap.send(payloadMessage(7, 5000)).catch(() => {});
    const datagrams = [...out];
    for (const d of datagrams) channel.receive(d);
    clock.advance(0);
    const acks = sent.map((d) => decodeFragment(d)).filter((f) => (f.flags & Flag.ACK) !== 0);
    expect(acks).toHaveLength(1);
    const covered = decodeAckRanges(acks[0]!.payload).reduce((n, r) => n + r.count, 1);
    expect(covered).toBeGreaterThanOrEqual(datagrams.length);
    expect(delivered).toHaveLength(1);
    sent.length = 0;
    channel.receive(datagrams[1]!); // a duplicate from the middle of a message: acknowledged after this turn
    clock.advance(0);
    expect(sent.map((d) => decodeFragment(d).seq)).toEqual([502]);
    sent.length = 0;
    const last = datagrams[datagrams.length - 1]!; // a message's last fragment waits up to ackDelay for company
    channel.receive(last);
    clock.advance(1);
    expect(sent).toHaveLength(0);
    clock.advance(1);
    expect(sent.map((d) => decodeFragment(d).seq)).toEqual([decodeFragment(last).seq]);
    expect(delivered).toHaveLength(1);
    expect(channel.stats.duplicates).toBe(2);
    tap.close();
  });

  it('acknowledges small messages together: after ackEvery of them or ackDelay, whichever comes first', () => {
    const { clock, sent, channel } = lone();
    const tap = lone({ localId: 2, remoteId: 1, initialSeq: 500, peerInitialSeq: 100 });
    for (let i = 0; i < 10; i++) tap.channel.send(payloadMessage(i, 10)).catch(() => {});
    for (const d of tap.sent.slice(0, 7)) channel.receive(d);
    clock.advance(0);
    expect(sent).toHaveLength(0);
    channel.receive(tap.sent[7]!);
    clock.advance(0);
    expect(sent).toHaveLength(1);
    const ack = decodeFragment(sent[0]!);
    const covered = decodeAckRanges(ack.payload).reduce((n, r) => n + r.count, 1);
    expect([ack.seq, covered >= 8]).toEqual([501, true]);
    channel.receive(tap.sent[8]!);
    clock.advance(1);
    expect(sent).toHaveLength(1);
    clock.advance(1);
    expect(sent).toHaveLength(2);
    tap.channel.close();
  });

  it('gives up on a silent peer after 7 retries with a typed error naming the message, and frees all state', async () => {
    const { clock, sent, channel } = lone();
    const closed: (ReliabilityError | undefined)[] = [];
    channel.on('close', (e) => closed.push(e));
    const failure = channel.send(payloadMessage(42, 3000)).catch((e: unknown) => e);
    const other = channel.send(payloadMessage(43, 10)).catch((e: unknown) => e);
    const times: number[] = [];
    const count = () => sent.filter((d) => decodeFragment(d).seq === 101).length;
    let last = count();
    while (!channel.isClosed && clock.now() < 60_000) {
      clock.advance(50);
      if (count() !== last) {
        last = count();
        times.push(clock.now());
      }
    }
    // RTO 500 ms doubling to T2 = 4 s: retries at 0.5, 1.5, 3.5, 7.5, 11.5, 15.5, 19.5 s; give-up at 23.5 s.
    expect(times).toEqual([500, 1500, 3500, 7500, 11500, 15500, 19500]);
    expect(clock.now()).toBe(23_500);
    const error = await failure;
    expect(ReliabilityError.is(error) && error.code === 'TIMEOUT').toBe(true);
    expect((error as Error).message).toMatch(/request number 42 type 0x4000/);
    expect(ReliabilityError.is(await other) && ((await other) as ReliabilityError).code).toBe('CLOSED');
    expect(closed[0]?.code).toBe('TIMEOUT');
    expect(channel.stats).toMatchObject({
      pendingMessages: 0,
      inFlight: 0,
      outstanding: 0,
      queuedOctets: 0,
      heldOctets: 0,
      timers: 0,
    });
    expect(clock.pending).toBe(0);
  });

  it('gives up after 32 s when the RTO is long', async () => {
    const { clock, channel } = lone({ initialRto: 4000 });
    const failure = channel.send(payloadMessage(1, 10)).catch((e: unknown) => e);
    clock.advance(31_999);
    expect(channel.isClosed).toBe(false);
    clock.advance(4000);
    expect(channel.isClosed).toBe(true);
    expect(((await failure) as ReliabilityError).code).toBe('TIMEOUT');
  });

  it('sends unreliable messages as one datagram, never acknowledged or retransmitted', async () => {
    const { clock, sent, channel } = lone();
    await channel.send(payloadMessage(1, 100), { reliable: false });
    const f = decodeFragment(sent[0]!);
    expect(f.flags).toBe(Flag.LFR);
    expect(f.seq).toBe(101);
    clock.advance(40_000);
    expect(sent.filter((d) => (decodeFragment(d).flags & Flag.LFR) !== 0)).toHaveLength(1);
    const error = await channel.send(payloadMessage(2, 1200), { reliable: false }).catch((e: unknown) => e);
    expect((error as ReliabilityError).code).toBe('TOO_LARGE');
    // a Message object is encoded straight into its datagram
    await channel.send({ number: 3, response: false, type: 0x4000, options: [] }, { reliable: false });
    const peer = lone({ localId: 2, remoteId: 1, initialSeq: 500, peerInitialSeq: 100 });
    const got = collect(peer.channel);
    peer.channel.receive(sent[0]!);
    peer.channel.receive(sent.at(-1)!);
    expect(got.map((g) => [g.message.number, g.reliable])).toEqual([
      [1, false],
      [3, false],
    ]);
    expect(peer.sent).toHaveLength(0);
  });

  it('withdraws a message aborted before it left, and rejects with ABORTED', async () => {
    const { sent, channel } = lone({ initialWindow: 1 });
    void channel.send(payloadMessage(1, 10));
    const controller = new AbortController();
    const second = channel.send(payloadMessage(2, 10), { signal: controller.signal });
    controller.abort();
    expect(((await second.catch((e: unknown) => e)) as ReliabilityError).code).toBe('ABORTED');
    expect(channel.stats.pendingMessages).toBe(1);
    expect(sent).toHaveLength(1);
  });

  it('refuses messages over maxMessageSize and beyond maxQueuedOctets', async () => {
    const { channel } = lone({ maxQueuedOctets: 10_000 });
    const big = await channel.send(new Uint8Array(300 * 1024)).catch((e: unknown) => e);
    expect((big as ReliabilityError).code).toBe('TOO_LARGE');
    void channel.send(payloadMessage(1, 8000));
    const full = await channel.send(payloadMessage(2, 5000)).catch((e: unknown) => e);
    expect((full as ReliabilityError).code).toBe('QUEUE_FULL');
  });

  it('sends KPA after 15 s idle, answers KPA with KPA|ACK, and declares a silent peer dead after three misses', () => {
    const { clock, sent, channel } = lone();
    const events: string[] = [];
    channel.on('deadpeer', () => events.push('dead'));
    channel.on('close', (e) => events.push(e?.code ?? 'clean'));
    clock.advance(14_999);
    expect(sent).toHaveLength(0);
    clock.advance(1);
    expect(decodeFragment(sent[0]!).flags).toBe(Flag.KPA);
    channel.receive(encodeFragment({ flags: Flag.KPA, seq: 9, localId: 2, remoteId: 1 }));
    const answer = decodeFragment(sent[1]!);
    expect([answer.flags, answer.seq]).toEqual([Flag.KPA | Flag.ACK, 9]);
    // that KPA also counts as life: the next silent stretch starts from it
    clock.advance(15_000 * 4 - 1);
    expect(events).toEqual([]);
    clock.advance(1);
    expect(events).toEqual(['dead', 'PEER_DEAD']);
  });

  it('keeps an answered session alive', () => {
    const { clock, network, a, b } = pair();
    void a.open();
    void b.open();
    clock.advance(300_000);
    expect(a.isClosed || b.isClosed).toBe(false);
    expect(a.stats.keepalivesSent).toBeGreaterThan(0);
    expect(network.dropped).toBe(0);
    a.close();
    b.close();
  });

  it('ends reliability with REASSEMBLY_TIMEOUT when a partial message stalls for 30 s', () => {
    const { clock, channel } = lone();
    const tap = lone({ localId: 2, remoteId: 1, initialSeq: 500, peerInitialSeq: 100 });
    tap.channel.send(payloadMessage(1, 5000)).catch(() => {});
    channel.receive(tap.sent[0]!);
    const closed: (string | undefined)[] = [];
    channel.on('close', (e) => closed.push(e?.code));
    clock.advance(10_000);
    channel.receive(encodeFragment({ flags: Flag.ACK, seq: 1, localId: 2, remoteId: 1 })); // life, not progress
    clock.advance(20_000);
    expect(closed).toEqual(['REASSEMBLY_TIMEOUT']);
    expect(channel.stats).toMatchObject({ partialOctets: 0, heldOctets: 0, timers: 0 });
  });

  it('drops datagrams for another session or of another version, counted', () => {
    const { channel } = lone();
    channel.receive(encodeFragment({ flags: Flag.REL, seq: 501, localId: 3, remoteId: 1 }));
    channel.receive(new Uint8Array([0x20, 0, 0, 0, 0, 2, 0, 1]));
    channel.receive(new Uint8Array(3));
    expect(channel.stats.drops).toMatchObject({ 'wrong-session': 1, 'bad-header': 2 });
  });

  it('delivers received messages through the async iterator and ends it on close', async () => {
    const { clock, a, b } = pair();
    const iterator = b.messages();
    void Promise.all([a.open(), b.open()]);
    void a.send(payloadMessage(1, 10));
    void a.send(payloadMessage(2, 3000));
    clock.advance(100);
    const first = await iterator.next();
    const second = await iterator.next();
    expect([first.value?.message.number, second.value?.message.number]).toEqual([1, 2]);
    b.close();
    expect((await iterator.next()).done).toBe(true);
  });
});
