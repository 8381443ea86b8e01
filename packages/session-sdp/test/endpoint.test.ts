import { createSocket, type Socket } from 'node:dgram';
import { once } from 'node:events';
import { LossyRelay } from '@xpp/reliability/testing';
import { encodeFragment, Flag, Operation, Option } from '@xpp/wire';
import { afterEach, describe, expect, it } from 'vitest';
import {
  SessionError,
  XppEndpoint,
  type TransportAddress,
  type XppDescription,
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

/** The description as seen through `via` (a relay): every candidate replaced by the relay's address. */
function through(description: XppDescription, via: TransportAddress): XppDescription {
  return { ...description, address: via.address, port: via.port, candidates: [] };
}

async function ping(session: XppSession, text: string): Promise<string> {
  const response = await session.request(Operation.PING.type, [
    Option.DATA.option(new TextEncoder().encode(text)),
  ]);
  return new TextDecoder().decode(Option.DATA.require(response.options));
}

/** A UDP tap between two endpoints that records what passes, so tests can replay or forge datagrams. */
async function tap(
  target: TransportAddress,
): Promise<{ address: TransportAddress; seen: Buffer[]; socket: Socket }> {
  const socket = createSocket('udp4');
  socket.bind(0, '127.0.0.1');
  await once(socket, 'listening');
  cleanup.push(() => new Promise<void>((r) => socket.close(() => r())));
  const seen: Buffer[] = [];
  let client: TransportAddress | undefined;
  socket.on('message', (msg, from) => {
    seen.push(Buffer.from(msg));
    const fromTarget = from.port === target.port && from.address === target.address;
    if (!fromTarget) client = { address: from.address, port: from.port };
    const to = fromTarget ? client : target;
    if (to) socket.send(msg, to.port, to.address);
  });
  const { address, port } = socket.address();
  return { address: { address, port }, seen, socket };
}

describe('XppEndpoint session setup (real UDP on loopback)', () => {
  it('opens sequentially: the answerer SYNs first, the offerer when the answer arrives', async () => {
    const a = await endpoint();
    const b = await endpoint();
    const offer = a.prepare();
    const answer = b.prepare();
    const bSession = answer.open(offer.description);
    await new Promise((r) => setTimeout(r, 200));
    const aSession = await offer.open(answer.description);
    const sb = await bSession;
    expect(aSession.isOpen && sb.isOpen).toBe(true);
    expect(aSession.secure && sb.secure).toBe(true);
    expect(await ping(aSession, 'hello')).toBe('hello');
    expect(await ping(sb, 'back')).toBe('back');
    expect(aSession.remote).toEqual(b.address);
  });

  it('opens when both sides SYN in the same instant, before either sees an ACK', async () => {
    const a = await endpoint();
    const b = await endpoint();
    const pa = a.prepare();
    const pb = b.prepare();
    // Both open() calls send their SYN synchronously, so both SYNs are on the wire before any is received.
    const [sa, sb] = await Promise.all([pa.open(pb.description), pb.open(pa.description)]);
    expect(sa.isOpen && sb.isOpen).toBe(true);
    expect(await ping(sa, 'x')).toBe('x');
    expect(sa.stats.channel.drops['unexpected-syn']).toBe(0);
  });

  it(
    'opens with crossing SYNs through a lossy, duplicating, reordering relay',
    { timeout: 40_000 },
    async () => {
      const a = await endpoint();
      const b = await endpoint();
      const relay = await LossyRelay.create({
        target: b.address,
        seed: 7,
        drop: 0.3,
        duplicate: 0.1,
        reorder: 0.2,
      });
      cleanup.push(() => relay.close());
      const pa = a.prepare();
      const pb = b.prepare();
      const [sa, sb] = await Promise.all([
        pa.open(through(pb.description, relay.address)),
        pb.open(through(pa.description, relay.address)),
      ]);
      expect(sa.isOpen && sb.isOpen).toBe(true);
      expect(relay.stats.dropped).toBeGreaterThan(0);
      const big = new Uint8Array(4_000).fill(7);
      // At 20% loss each way, lost retransmissions wait out RFC 6298 back-off (up to T2 = 4 s each): allow several.
      const response = await sa.request(Operation.PING.type, [Option.DATA.option(big)], { timeout: 25_000 });
      expect(Option.DATA.require(response.options)).toEqual(big);
    },
  );

  it('tries every candidate and keeps the one that answers', async () => {
    const a = await endpoint();
    const b = await endpoint();
    const dead = createSocket('udp4');
    dead.bind(0, '127.0.0.1');
    await once(dead, 'listening');
    cleanup.push(() => new Promise<void>((r) => dead.close(() => r())));
    const pa = a.prepare();
    const pb = b.prepare();
    const deadAddress = { address: '127.0.0.1', port: dead.address().port };
    const withDecoy: XppDescription = {
      ...pb.description,
      address: deadAddress.address,
      port: deadAddress.port,
      candidates: [
        { foundation: 'h1', component: 1, priority: 2130706431, type: 'host', ...deadAddress },
        { foundation: 'h2', component: 1, priority: 2130706430, type: 'host', ...b.address },
      ],
    };
    const [sa] = await Promise.all([pa.open(withDecoy), pb.open(pa.description)]);
    expect(sa.remote).toEqual(b.address);
  });

  it('fails setup with SETUP_TIMEOUT when nobody answers, and frees the ltag', async () => {
    const a = await endpoint({ channel: { giveUpAfter: 1500, initialRto: 100, maxRetries: 3 } });
    const pa = a.prepare();
    const silent = {
      ...pa.description,
      ltag: 0x1234,
      address: '127.0.0.1',
      port: 9,
      candidates: [],
      publicKey: pa.description.publicKey!,
    };
    const error = await pa.open(silent).catch((e: unknown) => e);
    expect(SessionError.is(error) && error.code).toBe('SETUP_TIMEOUT');
    expect(a.stats.sessions).toBe(0);
  });

  it('refuses a peer without a key unless both sides allow plaintext', async () => {
    const secure = await endpoint();
    const plain = await endpoint({ security: 'off' });
    const preferring = await endpoint({ security: 'preferred' });
    const ps = secure.prepare();
    const pp = plain.prepare();
    expect(pp.description.publicKey).toBeUndefined();
    const refused = await ps.open(pp.description).catch((e: unknown) => e);
    expect(SessionError.is(refused) && refused.code).toBe('INSECURE_PEER');
    pp.cancel();
    const pr = preferring.prepare();
    const pp2 = plain.prepare();
    const [s1, s2] = await Promise.all([pr.open(pp2.description), pp2.open(pr.description)]);
    expect(s1.secure || s2.secure).toBe(false);
    expect(await ping(s1, 'plain')).toBe('plain');
  });

  it('detects a dead peer by keepalive and releases everything', async () => {
    const keepalive = { keepaliveInterval: 100, keepaliveMisses: 3 };
    const a = await endpoint({ channel: keepalive });
    const b = await XppEndpoint.bind({ channel: keepalive });
    const pa = a.prepare();
    const pb = b.prepare();
    const [sa] = await Promise.all([pa.open(pb.description), pb.open(pa.description)]);
    const dead = new Promise<void>((resolve) => sa.on('dead', resolve));
    const closed = new Promise<unknown>((resolve) => sa.on('close', resolve));
    await b.close(); // the peer vanishes without BYE
    await dead;
    expect(await closed).toBeDefined();
    expect(a.stats.sessions).toBe(0);
    expect(sa.stats.channel.timers).toBe(0);
  });

  it('ends on close (as after a BYE): sessions removed, timers cleared, requests rejected', async () => {
    const a = await endpoint();
    const b = await endpoint();
    const pa = a.prepare();
    const pb = b.prepare();
    const [sa, sb] = await Promise.all([pa.open(pb.description), pb.open(pa.description)]);
    sa.close();
    sb.close();
    expect(a.stats.sessions + b.stats.sessions).toBe(0);
    expect(sa.stats.channel.timers + sb.stats.channel.timers).toBe(0);
    await expect(sa.request(Operation.PING.type)).rejects.toMatchObject({ code: 'CLOSED' });
  });
});

describe('XppEndpoint piggybacked ACKs (a=xpp-ack:piggyback, real UDP on loopback)', () => {
  async function exchange(a: XppEndpoint, b: XppEndpoint, count: number) {
    const offer = a.prepare();
    const answer = b.prepare();
    const [sa, sb] = await Promise.all([offer.open(answer.description), answer.open(offer.description)]);
    const answers = [];
    // one at a time, as a client does; and 16 at once, so requests, responses and ACKs interleave
    for (let i = 0; i < count; i++) answers.push(await ping(sa, `one ${i}`));
    answers.push(...(await Promise.all(Array.from({ length: 16 }, (_, i) => ping(sb, `many ${i}`)))));
    await new Promise((r) => setTimeout(r, 20)); // the last stand-alone ACKs
    return { offer, answer, sa, sb, answers };
  }

  it('between two endpoints that offer it (the default), responses carry the ACKs of their requests', async () => {
    const a = await endpoint();
    const b = await endpoint();
    const { offer, sa, sb, answers } = await exchange(a, b, 50);
    expect(offer.description.piggybackAcks).toBe(true);
    expect(answers).toEqual([
      ...Array.from({ length: 50 }, (_, i) => `one ${i}`),
      ...Array.from({ length: 16 }, (_, i) => `many ${i}`),
    ]);
    const [ca, cb] = [sa.stats.channel, sb.stats.channel];
    expect(cb.piggybackedAcks).toBeGreaterThanOrEqual(50);
    expect(ca.piggybackedAcks).toBeGreaterThan(0);
    // 50 one-at-a-time exchanges and 16 concurrent ones: far fewer stand-alone ACKs than exchanges
    expect(ca.ackDatagramsSent + cb.ackDatagramsSent).toBeLessThan(30);
    expect(ca.drops['bad-ack'] + cb.drops['bad-ack']).toBe(0);
  });

  it('with a peer that does not offer it, stand-alone ACKs are used and every request is answered', async () => {
    const fresh = await endpoint();
    const old = await endpoint({ piggybackAcks: false }); // offers nothing, as before piggybacking
    for (const [a, b] of [
      [fresh, old],
      [old, fresh],
    ] as const) {
      const { offer, answer, sa, sb, answers } = await exchange(a, b, 30);
      expect([offer.description.piggybackAcks, answer.description.piggybackAcks]).toEqual(
        a === fresh ? [true, undefined] : [undefined, true],
      );
      expect(answers).toHaveLength(46);
      const [ca, cb] = [sa.stats.channel, sb.stats.channel];
      expect(ca.piggybackedAcks + cb.piggybackedAcks).toBe(0);
      expect(ca.ackDatagramsSent).toBeGreaterThan(0);
      expect(cb.ackDatagramsSent).toBeGreaterThan(0);
      expect(ca.drops['bad-ack'] + cb.drops['bad-ack']).toBe(0);
      sa.close();
      sb.close();
    }
  });
});

describe('XppEndpoint NAT rebinding', () => {
  it('keeps the session when the peer reappears from a new address, once its fragments authenticate', async () => {
    const a = await endpoint();
    const b = await endpoint();
    // A "NAT" in front of a: forwards a's datagrams to b from one socket, later from another (a new mapping).
    const nat = [createSocket('udp4'), createSocket('udp4')];
    for (const s of nat) {
      s.bind(0, '127.0.0.1');
      await once(s, 'listening');
      cleanup.push(() => new Promise<void>((r) => s.close(() => r())));
    }
    let current = 0;
    const front = await tap(b.address); // a talks to the tap; the tap's far side is replaced below
    front.socket.removeAllListeners('message');
    front.socket.on('message', (msg) => nat[current]!.send(msg, b.address.port, b.address.address));
    for (const s of nat) s.on('message', (msg) => front.socket.send(msg, a.address.port, a.address.address));
    const pa = a.prepare();
    const pb = b.prepare();
    const natAddress = (i: number) => ({ address: '127.0.0.1', port: nat[i]!.address().port });
    const [sa, sb] = await Promise.all([
      pa.open(through(pb.description, front.address)),
      pb.open(through(pa.description, natAddress(0))),
    ]);
    expect(await ping(sa, 'before')).toBe('before');
    expect(sb.remote).toEqual(natAddress(0));
    const rebound = new Promise((resolve) => sb.on('rebind', resolve));
    current = 1; // the mapping changes: a's traffic now arrives from another port
    expect(await ping(sa, 'after')).toBe('after');
    expect(await rebound).toEqual(natAddress(1));
    expect(sb.remote).toEqual(natAddress(1));
    expect(b.stats.rebinds).toBe(1);
  });
});

describe('XppEndpoint hostile and stray input', () => {
  it('drops wrong ltags, wrong keys and replayed fragments without touching session state', async () => {
    const a = await endpoint();
    const b = await endpoint();
    const t = await tap(b.address);
    const pa = a.prepare();
    const pb = b.prepare();
    const [sa, sb] = await Promise.all([
      pa.open(through(pb.description, t.address)),
      pb.open(through(pa.description, t.address)),
    ]);
    expect(await ping(sa, 'one')).toBe('one');
    await new Promise((r) => setTimeout(r, 50)); // let the last ACKs land
    const before = sb.stats.channel.datagramsReceived;
    const attacker = createSocket('udp4');
    cleanup.push(() => new Promise<void>((r) => attacker.close(() => r())));
    const send = (d: Uint8Array) =>
      new Promise<void>((r) => attacker.send(d, b.address.port, b.address.address, () => r()));
    // Unknown ltag, wrong peer ltag, garbage, a forged sealed payload, and a replay of a real datagram.
    await send(
      encodeFragment({
        flags: Flag.REL,
        seq: 1,
        localId: sa.localLtag,
        remoteId: (sb.localLtag + 1) & 0xffff,
      }),
    );
    await send(
      encodeFragment({
        flags: Flag.REL,
        seq: 1,
        localId: (sa.localLtag + 1) & 0xffff,
        remoteId: sb.localLtag,
      }),
    );
    await send(Uint8Array.of(1, 2, 3));
    await send(
      encodeFragment({
        flags: Flag.REL | Flag.LFR,
        seq: 9,
        localId: sa.localLtag,
        remoteId: sb.localLtag,
        payload: new Uint8Array(40).fill(1),
      }),
    );
    const real = t.seen.find((d) => d.readUInt16BE(6) === sb.localLtag && d.length > 8);
    expect(real).toBeDefined();
    await send(real!);
    await new Promise((r) => setTimeout(r, 100));
    const drops = b.stats.drops;
    expect(drops.UNKNOWN_LTAG).toBeGreaterThanOrEqual(1);
    expect(drops.PEER_LTAG_MISMATCH).toBeGreaterThanOrEqual(1);
    expect(drops.malformed).toBeGreaterThanOrEqual(1);
    expect(drops.AUTH_FAILED).toBeGreaterThanOrEqual(1);
    expect(drops.REPLAYED).toBeGreaterThanOrEqual(1);
    // None of it reached the channel, and the session still works from its real address.
    expect(sb.stats.channel.datagramsReceived).toBe(before);
    expect(sb.remote).toEqual(t.address);
    expect(await ping(sa, 'two')).toBe('two');
  });
});
