import type { Socket } from 'node:dgram';
import { afterEach, describe, expect, it } from 'vitest';
import { Operation, Option } from '@xpp/wire';
import { Operations, type ReliableChannel, bindUdp, createUdpChannel, socketAddress } from '@xpp/reliability';
import { LossyRelay, type LossyRelayOptions } from '@xpp/reliability/testing';
import { collect, equalBytes, payloadMessage, randomSizes } from './helpers.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function closeSocket(socket: Socket): Promise<void> {
  return new Promise((resolve) => socket.close(() => resolve()));
}

/** Two channels on real loopback sockets, every datagram through a seeded lossy relay. */
export async function relayedPair(relay: Omit<LossyRelayOptions, 'target'>, channel = {}) {
  const socketA = await bindUdp();
  const socketB = await bindUdp();
  const lossy = await LossyRelay.create({ ...relay, target: socketAddress(socketB) });
  const a = createUdpChannel({
    socket: socketA,
    remote: lossy.address,
    localId: 0x0a0a,
    remoteId: 0x0b0b,
    ...channel,
  });
  const b = createUdpChannel({
    socket: socketB,
    remote: lossy.address,
    localId: 0x0b0b,
    remoteId: 0x0a0a,
    ...channel,
  });
  cleanups.push(
    () => closeSocket(socketA),
    () => closeSocket(socketB),
    () => lossy.close(),
    () => {
      a.close();
      b.close();
    },
  );
  return { a, b, relay: lossy };
}

async function transfer(a: ReliableChannel, b: ReliableChannel, sizes: readonly number[]) {
  const received = collect(b);
  await Promise.all([a.open(), b.open()]);
  const messages = sizes.map((size, i) => payloadMessage(i, size, i * 7 + 1));
  await Promise.all(messages.map((m) => a.send(m)));
  // every send settled on ACKs, so every message was delivered before its last ACK left
  return { received, messages };
}

describe('real UDP through a lossy relay: 1,000 messages, exactly once, in order, byte-identical', () => {
  it.each([
    { drop: 0, duplicate: 0, reorder: 0, delay: 0, seed: 11 },
    { drop: 0.01, duplicate: 0.01, reorder: 0.01, delay: 0, seed: 12 },
    { drop: 0.05, duplicate: 0.02, reorder: 0.02, delay: 0, seed: 13 },
    { drop: 0.2, duplicate: 0.02, reorder: 0.02, delay: 0, seed: 14 },
  ])(
    'drop $drop, duplicate $duplicate, reorder $reorder (seed $seed)',
    { timeout: 120_000 },
    async (impairment) => {
      const { a, b, relay } = await relayedPair(impairment);
      // 1 octet to 200 KiB of DATA, log-uniform: both extremes occur, the total suits a 2-core CI machine.
      const sizes = randomSizes(1000, 200 * 1024, impairment.seed);
      const { received, messages } = await transfer(a, b, sizes);
      expect(received).toHaveLength(1000);
      for (let i = 0; i < messages.length; i++) {
        if (!equalBytes(received[i]!.bytes, messages[i]!)) throw new Error(`message ${i} differs`);
      }
      expect(received.map((r) => r.message.number)).toEqual(messages.map((_, i) => i));
      if (impairment.drop > 0) {
        expect(relay.stats.dropped).toBeGreaterThan(0);
        expect(a.stats.retransmits).toBeGreaterThan(0);
      }
      if (impairment.duplicate > 0) expect(relay.stats.duplicated).toBeGreaterThan(0);
      expect(a.stats).toMatchObject({ pendingMessages: 0, inFlight: 0, outstanding: 0 });
      expect(b.stats).toMatchObject({ heldOctets: 0, partialOctets: 0 });
    },
  );

  it('also survives random delay of up to 3 ms per datagram', { timeout: 60_000 }, async () => {
    const { a, b } = await relayedPair({ drop: 0.02, delay: 3, seed: 5 });
    const sizes = randomSizes(100, 200 * 1024, 5);
    const { received, messages } = await transfer(a, b, sizes);
    expect(received.map((r) => r.bytes.length)).toEqual(messages.map((m) => m.length));
    received.forEach((r, i) => expect(equalBytes(r.bytes, messages[i]!)).toBe(true));
  });

  it(
    'answers every request with piggybacked ACKs through 5% loss, duplication and reordering',
    { timeout: 60_000 },
    async () => {
      const { a, b, relay } = await relayedPair(
        { drop: 0.05, duplicate: 0.02, reorder: 0.02, delay: 0, seed: 21 },
        { piggybackAcks: true },
      );
      await Promise.all([a.open(), b.open()]);
      const client = new Operations(a);
      new Operations(b);
      const sizes = randomSizes(300, 8 * 1024, 21);
      const data = sizes.map((size, i) => payloadMessage(i, size));
      // 16 requests in flight at a time, so responses, requests and stand-alone ACKs all interleave
      for (let at = 0; at < data.length; at += 16) {
        const batch = data.slice(at, at + 16);
        const responses = await Promise.all(
          batch.map((d) => client.request(Operation.PING.type, [Option.DATA.option(d)], { timeout: 30_000 })),
        );
        responses.forEach((r, i) => expect(equalBytes(Option.DATA.find(r.options)!, batch[i]!)).toBe(true));
      }
      expect(relay.stats.dropped).toBeGreaterThan(0);
      expect(a.stats.piggybackedAcks + b.stats.piggybackedAcks).toBeGreaterThan(0);
      expect(a.stats.drops['bad-ack'] + b.stats.drops['bad-ack']).toBe(0);
    },
  );
});
