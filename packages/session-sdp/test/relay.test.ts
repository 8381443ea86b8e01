import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import { FakeClock } from '@xpp/reliability/testing';
import { decodeFragment, encodeFragment, Flag, Operation, Option } from '@xpp/wire';
import { afterEach, describe, expect, it } from 'vitest';
import {
  answerXppDescription,
  DatagramRelay,
  offerXppDescription,
  SessionError,
  XppEndpoint,
  type SessionAuthenticator,
  type TransportAddress,
  type XppEndpointOptions,
  type XppSession,
} from '@xpp/session-sdp';

const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

async function endpoint(options: XppEndpointOptions = {}): Promise<XppEndpoint> {
  const e = await XppEndpoint.bind(options);
  cleanup.push(() => e.close());
  return e;
}

async function ping(session: XppSession, text: string): Promise<string> {
  const response = await session.request(Operation.PING.type, [
    Option.DATA.option(new TextEncoder().encode(text)),
  ]);
  return new TextDecoder().decode(Option.DATA.require(response.options));
}

/** An authenticator that names each side by a fixed id and signs with a shared secret (enough for these tests). */
function namedAuth(id: string): SessionAuthenticator {
  return {
    sign: (transcript) => Uint8Array.from([...new TextEncoder().encode(id), 0, transcript.length & 0xff]),
    verify: (auth, transcript) => {
      const zero = auth.indexOf(0);
      if (zero < 1 || auth[zero + 1] !== (transcript.length & 0xff)) throw new Error('bad auth');
      return new TextDecoder().decode(auth.subarray(0, zero));
    },
  };
}

/** A sets up a session with B through R's relay, offer and answer handed over by the test (the overlay's part). */
async function relayed(limits: XppEndpointOptions['relay'] = {}) {
  const relay = await endpoint({ relay: limits });
  const a = await endpoint();
  const b = await endpoint();
  const offer = offerXppDescription(a, { callId: 'relay-1', auth: namedAuth('a'), via: relay.address });
  const answer = await answerXppDescription(b, offer.description, {
    callId: 'relay-1',
    auth: namedAuth('b'),
    via: relay.address,
  });
  const allocation = relay.relay.allocate(
    { address: a.address, ltag: offer.description.ltag },
    { address: b.address, ltag: answer.description.ltag },
  );
  const [sa, sb] = await Promise.all([offer.complete(answer.description), answer.opened]);
  return { relay, a, b, sa, sb, allocation, offer, answer };
}

describe('sessions relayed by a third endpoint (DatagramRelay)', () => {
  it('opens through the relay, authenticated end to end, and the relay forwards only sealed datagrams', async () => {
    const { relay, sa, sb } = await relayed();
    expect(sa.peer).toBe('b');
    expect(sb.peer).toBe('a');
    expect(await ping(sa.session, 'hello through the relay')).toBe('hello through the relay');
    expect(await ping(sb.session, 'and back')).toBe('and back');
    // Each side sees the relay as its peer's address; the relay opened no session of its own.
    expect(sa.session.remote).toEqual(relay.address);
    expect(sb.session.remote).toEqual(relay.address);
    expect(relay.stats.sessions).toBe(0);
    expect(relay.relay.stats.forwarded.datagrams).toBeGreaterThan(4);
  });

  it('forwards nothing from an address it did not latch, even with the right ltags (a forged source)', async () => {
    const { relay, b, offer, answer, sb } = await relayed();
    const before = relay.relay.stats.forwarded.datagrams;
    const received = b.stats.datagramsReceived;
    const rogue = createSocket('udp4');
    rogue.bind(0, '127.0.0.1');
    await once(rogue, 'listening');
    cleanup.push(() => new Promise<void>((r) => rogue.close(() => r())));
    const forged = encodeFragment({
      flags: Flag.REL,
      seq: 7,
      localId: offer.description.ltag,
      remoteId: answer.description.ltag,
      payload: new Uint8Array(64),
    });
    for (let i = 0; i < 20; i++) rogue.send(forged, relay.address.port, relay.address.address);
    await new Promise((r) => setTimeout(r, 200));
    expect(relay.relay.stats.forwarded.datagrams).toBe(before);
    expect(b.stats.datagramsReceived).toBe(received);
    expect(relay.stats.drops.UNKNOWN_LTAG).toBeGreaterThanOrEqual(20);
    expect(await ping(sb.session, 'still fine')).toBe('still fine');
  });

  it('refuses an allocation over its bound and drops what a side sends over its rate, counted', async () => {
    const { relay, sa } = await relayed({ maxAllocations: 1, datagramsPerSecond: 20 });
    expect(() =>
      relay.relay.allocate(
        { address: { address: '127.0.0.1', port: 9 }, ltag: 1 },
        { address: { address: '127.0.0.1', port: 10 }, ltag: 2 },
      ),
    ).toThrow(expect.objectContaining({ code: 'TOO_LARGE' }));
    expect(relay.relay.stats.refusedFull).toBe(1);
    // 100 requests at once: far more than 20 datagrams a second leave A for the relay.
    const burst = Array.from({ length: 100 }, (_, i) => ping(sa.session, `x${i}`).catch(() => ''));
    await new Promise((r) => setTimeout(r, 300));
    expect(relay.relay.stats.dropped['over-rate']).toBeGreaterThan(0);
    sa.session.close();
    await Promise.all(burst);
  });

  it('refuses an answer signed for another exchange (the transcript binds the call id)', async () => {
    const a = await endpoint();
    const b = await endpoint();
    const offer = offerXppDescription(a, { callId: 'one', auth: namedAuth('a') });
    const strict: SessionAuthenticator = {
      sign: () => new Uint8Array(8),
      verify: () => {
        throw new Error('no');
      },
    };
    await expect(
      answerXppDescription(b, offer.description, { callId: 'one', auth: strict }),
    ).rejects.toSatisfy((e: unknown) => SessionError.is(e, 'UNAUTHENTICATED'));
    offer.cancel();
    expect(b.stats.authRefused).toBe(1);
  });
});

describe('DatagramRelay bounds (fake clock)', () => {
  it('drops an allocation idle for idleMs, and forwards only between the allocation ltags', () => {
    const clock = new FakeClock();
    const sent: TransportAddress[] = [];
    const relay = new DatagramRelay({ clock, send: (_d, to) => sent.push(to), limits: { idleMs: 30_000 } });
    const a = { address: { address: '192.0.2.10', port: 1000 }, ltag: 11 };
    const b = { address: { address: '192.0.2.20', port: 2000 }, ltag: 22 };
    relay.allocate(a, b);
    const datagram = encodeFragment({ flags: Flag.REL, seq: 1, localId: 11, remoteId: 22 });
    expect(relay.forward(datagram, decodeFragment(datagram), a.address)).toBe(true);
    expect(sent).toEqual([b.address]);
    const wrong = encodeFragment({ flags: Flag.REL, seq: 1, localId: 11, remoteId: 23 });
    expect(relay.forward(wrong, decodeFragment(wrong), a.address)).toBe(false);
    clock.advance(29_000);
    expect(relay.stats.allocations).toBe(1);
    clock.advance(40_000);
    expect(relay.stats).toMatchObject({ allocations: 0, expired: 1 });
    expect(relay.forward(datagram, decodeFragment(datagram), a.address)).toBe(false);
  });
});
