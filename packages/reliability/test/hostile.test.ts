import type { Socket } from 'node:dgram';
import fc from 'fast-check';
import { Flag, encodeFragment, encodeMessage } from '@xpp/wire';
import { afterEach, describe, expect, it } from 'vitest';
import { bindUdp, createUdpChannel, socketAddress } from '@xpp/reliability';
import { seededRandom } from '@xpp/reliability/testing';
import { collect, equalBytes, handDriven, payloadMessage } from './helpers.js';

const sockets: Socket[] = [];
afterEach(async () => {
  await Promise.all(sockets.splice(0).map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
});

async function socket(): Promise<Socket> {
  const s = await bindUdp();
  sockets.push(s);
  return s;
}

const bounds = { receiveWindow: 256 * 1024, maxMessageSize: 64 * 1024 };

/** A fragment from the peer (ltag 2 to ltag 1) with the given flags and payload. */
function fromPeer(seq: number, flags: number, payload?: Uint8Array): Uint8Array {
  return encodeFragment({
    flags,
    seq,
    localId: 2,
    remoteId: 1,
    ...(payload === undefined ? {} : { payload }),
  });
}

describe('hostile input', () => {
  it('property: any datagrams never throw and never exceed the bounds', () => {
    const arbitraryDatagram = fc.oneof(
      fc.uint8Array({ maxLength: 1300 }),
      fc
        .record({
          flags: fc.integer({ min: 0, max: 31 }),
          seq: fc.oneof(fc.integer({ min: 0, max: 0xffff }), fc.integer({ min: 500, max: 540 })),
          payload: fc.uint8Array({ maxLength: 1192 }),
        })
        .map(({ flags, seq, payload }) => fromPeer(seq, flags, payload)),
    );
    fc.assert(
      fc.property(fc.array(arbitraryDatagram, { maxLength: 200 }), (datagrams) => {
        const { clock, channel } = handDriven(bounds);
        for (const d of datagrams) channel.receive(d);
        clock.advance(1);
        const s = channel.stats;
        expect(s.heldOctets).toBeLessThanOrEqual(bounds.receiveWindow);
        expect(s.partialOctets).toBeLessThanOrEqual(bounds.maxMessageSize);
        channel.close();
      }),
      { numRuns: 300 },
    );
  });

  it(
    "a flood of garbage and a hostile peer's fragment bombs leave memory bounded and real traffic flowing (real UDP)",
    { timeout: 60_000 },
    async () => {
      const [sa, sb, sv, attacker] = await Promise.all([socket(), socket(), socket(), socket()]);
      const a = createUdpChannel({
        socket: sa,
        remote: socketAddress(sb),
        localId: 1,
        remoteId: 2,
        ...bounds,
      });
      const b = createUdpChannel({
        socket: sb,
        remote: socketAddress(sa),
        localId: 2,
        remoteId: 1,
        ...bounds,
      });
      // b also takes every datagram the attacker sends it, as an endpoint that cannot tell garbage in advance.
      sb.on('message', (d, from) => {
        if (from.port === socketAddress(attacker).port) b.receive(d);
      });
      // v is a session whose peer (ltag 7) is the attacker itself: it bombs v with well-formed hostile fragments.
      const v = createUdpChannel({
        socket: sv,
        remote: socketAddress(attacker),
        localId: 9,
        remoteId: 7,
        initialSeq: 1,
        peerInitialSeq: 1000,
        ...bounds,
      });
      const received = collect(b);
      await Promise.all([a.open(), b.open()]);

      const random = seededRandom(99);
      const hugeHeader = encodeMessage({ number: 1, response: false, type: 1, options: [] });
      new DataView(hugeHeader.buffer).setUint32(8, 0xfffffff0); // announces ~4 GiB
      const toV = (seq: number, flags: number, payload: Uint8Array) =>
        encodeFragment({ flags, seq, localId: 7, remoteId: 9, payload });
      let inSequence = 1001;
      let sentAttack = 0;
      const attack = (): void => {
        for (let i = 0; i < 8; i++) {
          const seq = Math.floor(random() * 0x10000);
          const garbage = Uint8Array.from(
            { length: Math.floor(random() * 1300) },
            () => (random() * 256) | 0,
          );
          const bombs = [
            toV(inSequence, Flag.REL, i === 0 ? hugeHeader : new Uint8Array(1192)), // endless, never LFR
            toV(seq, Flag.REL, new Uint8Array(1192)), // anywhere in the sequence space
            toV(seq, Flag.REL | Flag.LFR, hugeHeader), // huge announced lengths
            toV(seq, Flag.ACK, new Uint8Array(1192).fill(0xff)), // absurd ACK ranges
          ];
          inSequence = (inSequence + 1) & 0xffff;
          attacker.send(garbage, socketAddress(sb).port, '127.0.0.1');
          attacker.send(
            encodeFragment({ flags: Flag.REL, seq, localId: 5, remoteId: 2 }),
            socketAddress(sb).port,
            '127.0.0.1',
          );
          for (const bomb of bombs) attacker.send(bomb, socketAddress(sv).port, '127.0.0.1');
          sentAttack += 6;
        }
      };
      const flood = setInterval(attack, 2);
      let maxHeld = 0;
      let maxPartial = 0;
      const watch = setInterval(() => {
        maxHeld = Math.max(maxHeld, b.stats.heldOctets, v.stats.heldOctets);
        maxPartial = Math.max(maxPartial, b.stats.partialOctets, v.stats.partialOctets);
      }, 2);
      global.gc?.();
      const heapBefore = process.memoryUsage().heapUsed;
      const messages = Array.from({ length: 200 }, (_, i) => payloadMessage(i, (i * 997) % 30_000));
      try {
        await Promise.all(messages.map((m) => a.send(m)));
        await new Promise((resolve) => setTimeout(resolve, 200));
      } finally {
        clearInterval(flood);
        clearInterval(watch);
      }
      expect(sentAttack).toBeGreaterThan(1000);
      expect(received).toHaveLength(messages.length);
      received.forEach((r, i) => expect(equalBytes(r.bytes, messages[i]!)).toBe(true));
      expect(maxHeld).toBeLessThanOrEqual(bounds.receiveWindow);
      expect(maxPartial).toBeLessThanOrEqual(bounds.maxMessageSize);
      expect(b.stats.drops['bad-header'] + b.stats.drops['wrong-session']).toBeGreaterThan(0);
      const vd = v.stats.drops;
      expect(vd['message-too-large']).toBeGreaterThan(0);
      expect(vd['window-full'] + vd['out-of-window']).toBeGreaterThan(0);
      expect(process.memoryUsage().heapUsed - heapBefore).toBeLessThan(64 * 1024 * 1024);
      v.close();
    },
  );

  it('a fragment bomb in sequence (huge announced length, then endless fragments without LFR) is consumed unbuffered', () => {
    const { channel } = handDriven(bounds);
    const got = collect(channel);
    const huge = encodeMessage({ number: 1, response: false, type: 1, options: [] });
    new DataView(huge.buffer).setUint32(8, 0x7fffffff);
    channel.receive(fromPeer(501, Flag.REL, huge));
    for (let i = 0; i < 5000; i++)
      channel.receive(fromPeer((502 + i) & 0xffff, Flag.REL, new Uint8Array(1192)));
    expect(channel.stats.partialOctets).toBe(0);
    expect(channel.stats.heldOctets).toBe(0);
    expect(channel.stats.drops['message-too-large']).toBe(1);
    // a message that claims 60 KiB then never ends is dropped as soon as it overflows its announcement
    const honest = payloadMessage(2, 60_000);
    const next = (502 + 5000) & 0xffff;
    channel.receive(fromPeer(next, Flag.REL | Flag.LFR, new Uint8Array(1)));
    channel.receive(fromPeer((next + 1) & 0xffff, Flag.REL, honest.subarray(0, 1192)));
    for (let i = 2; i < 200; i++)
      channel.receive(fromPeer((next + i) & 0xffff, Flag.REL, new Uint8Array(1192)));
    expect(channel.stats.partialOctets).toBe(0);
    expect(channel.stats.drops['length-mismatch']).toBe(1);
    // and after the bomb ends with LFR, real messages flow again
    channel.receive(fromPeer((next + 200) & 0xffff, Flag.REL | Flag.LFR, new Uint8Array(1)));
    const small = payloadMessage(3, 10);
    channel.receive(fromPeer((next + 201) & 0xffff, Flag.REL | Flag.LFR, small));
    expect(got.map((g) => g.message.number)).toEqual([3]);
  });
});
