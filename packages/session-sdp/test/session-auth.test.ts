// Authenticated sessions (xpp-pcan §5.5) over real UDP loopback: both sides sign with a toy Ed25519
// authenticator, refusals are 403 / BYE with no session, and a man in the middle that rewrites the SDP gets nothing.
import { createSocket, type Socket } from 'node:dgram';
import { Operation, Option } from '@xpp/wire';
import { describe, expect, it } from 'vitest';
import {
  acceptXppCall,
  authTranscript,
  placeXppCall,
  SessionError,
  SipUserAgent,
  XppEndpoint,
  generateXppKeyPair,
  type SessionAuthenticator,
  type XppCall,
} from '@xpp/session-sdp';
import { closersAfterEach } from './support/closers.js';
import { toyAuthenticator, toyIdentity, type ToyIdentity } from './support/toy-auth.js';
import { xppPeer } from './support/xpp-peer.js';

const closers = closersAfterEach();

const alice = toyIdentity('alice');
const bob = toyIdentity('bob');
const mallory = toyIdentity('mallory');
const trusted = [alice, bob];

interface PeerOptions {
  auth?: SessionAuthenticator;
  admit?: (peer: string) => boolean;
}

function peer(options: PeerOptions = {}) {
  return xppPeer(closers, { accept: (invite, endpoint) => acceptXppCall(invite, endpoint, options) });
}

async function rejection(promise: Promise<unknown>): Promise<SessionError> {
  const error = await promise.then(
    () => {
      throw new Error('expected a refusal');
    },
    (e: unknown) => e,
  );
  expect(SessionError.is(error)).toBe(true);
  return error as SessionError;
}

const authOf = (self: ToyIdentity, options: { verifyDelayMs?: number } = {}) =>
  toyAuthenticator(self, trusted, options);

async function noSessions(...peers: { endpoint: XppEndpoint; ua: SipUserAgent }[]) {
  for (const p of peers) {
    expect(p.endpoint.stats.sessions).toBe(0);
    expect(p.endpoint.stats.prepared).toBe(0);
  }
}

describe('authenticated XPP sessions (a=xpp-auth)', () => {
  it('opens when both sides verify, and each learns the other id from auth, not from SIP', async () => {
    const b = await peer({ auth: authOf(bob, { verifyDelayMs: 5 }) });
    const a = await peer();
    const outgoing = await placeXppCall(a.ua, a.endpoint, b.ua.contactUri, { auth: authOf(alice) });
    const incoming = await b.accepted[0]!;
    expect(outgoing.peer).toBe('bob');
    expect(incoming.peer).toBe('alice');
    expect(outgoing.session.secure).toBe(true);
    const response = await outgoing.session.request(Operation.PING.type, [
      Option.DATA.option(Uint8Array.of(9)),
    ]);
    expect([...Option.DATA.require(response.options)]).toEqual([9]);
    expect(a.endpoint.stats.authRefused + b.endpoint.stats.authRefused).toBe(0);
    await outgoing.hangUp();
  });

  it('leaves peer undefined without auth', async () => {
    const b = await peer();
    const a = await peer();
    const outgoing = await placeXppCall(a.ua, a.endpoint, b.ua.contactUri);
    expect(outgoing.peer).toBeUndefined();
    expect((await b.accepted[0]!).peer).toBeUndefined();
  });

  it('gives every session a fresh X25519 key (forward secrecy)', async () => {
    const a = await peer();
    const keys = new Set<string>();
    for (let i = 0; i < 5; i++) {
      const prepared = a.endpoint.prepare();
      keys.add(Buffer.from(prepared.description.publicKey!).toString('hex'));
      prepared.cancel();
    }
    expect(keys.size).toBe(5);
    const fixed = generateXppKeyPair();
    const injected = await XppEndpoint.bind({ keyPairs: () => fixed });
    closers.push(() => injected.close());
    expect(injected.prepare().description.publicKey).toEqual(fixed.publicKey);
  });

  it('answers 403 to an offer without a=xpp-auth, or signed by an untrusted key, and opens nothing', async () => {
    const b = await peer({ auth: authOf(bob) });
    const a = await peer();
    const unsigned = await rejection(placeXppCall(a.ua, a.endpoint, b.ua.contactUri));
    expect(unsigned.code).toBe('SIP_REJECTED');
    expect(unsigned.status).toBe(403);
    expect((await rejection(b.accepted[0]!)).code).toBe('UNAUTHENTICATED');

    const outsider = toyAuthenticator(mallory, [mallory, ...trusted]);
    const signed = await rejection(placeXppCall(a.ua, a.endpoint, b.ua.contactUri, { auth: outsider }));
    expect(signed.status).toBe(403);
    expect((await rejection(b.accepted[1]!)).code).toBe('UNAUTHENTICATED');
    expect(b.endpoint.stats.authRefused).toBe(2);
    expect(b.endpoint.stats.datagramsReceived).toBe(0);
    await noSessions(a, b);
  });

  it('sends no SYN and a BYE when the answer does not authenticate', async () => {
    // Bob signs with a key Alice does not trust: his SYNs reach Alice, none of hers reach him.
    const b = await peer({ auth: toyAuthenticator(mallory, trusted) });
    const a = await peer();
    const refused = await rejection(placeXppCall(a.ua, a.endpoint, b.ua.contactUri, { auth: authOf(alice) }));
    expect(refused.code).toBe('UNAUTHENTICATED');
    expect(a.endpoint.stats.authRefused).toBe(1);
    const ended = await rejection(b.accepted[0]!);
    expect(ended.code).toBe('CLOSED'); // Alice's BYE ended Bob's setup
    expect(b.endpoint.stats.datagramsReceived).toBe(0);
    await noSessions(a, b);
    expect(a.ua.calls + b.ua.calls).toBe(0);
  });

  it('lets admit refuse an authenticated peer with 403 FORBIDDEN', async () => {
    const seen: string[] = [];
    const b = await peer({ auth: authOf(bob), admit: (p) => (seen.push(p), false) });
    const a = await peer();
    const refused = await rejection(placeXppCall(a.ua, a.endpoint, b.ua.contactUri, { auth: authOf(alice) }));
    expect(refused.status).toBe(403);
    expect((await rejection(b.accepted[0]!)).code).toBe('FORBIDDEN');
    expect(seen).toEqual(['alice']);
    expect(b.endpoint.stats.authRefused).toBe(0);
    await noSessions(a, b);
  });
});

describe('what authentication rests on', () => {
  it('signs the Call-ID the INVITE carries: a preset one is sent as is, a malformed one refused', async () => {
    const seen: string[] = [];
    const b = await peer();
    const endpoint = b.endpoint;
    const ua = await SipUserAgent.listen({
      onInvite: (invite) => {
        seen.push(invite.request.headers.get('call-id') ?? '');
        acceptXppCall(invite, endpoint).catch(() => undefined);
      },
    });
    closers.push(() => ua.close());
    const a = await peer();
    const callId = a.ua.newCallId();
    await placeXppCall(a.ua, a.endpoint, ua.contactUri, { callId });
    expect(seen).toEqual([callId]);
    for (const bad of ['two words', 'a@b@c', 'x'.repeat(257), 'crlf\r\nX: y']) {
      expect(
        (await rejection(a.ua.invite(ua.contactUri, { contentType: 'x/y', body: '' }, { callId: bad }))).code,
      ).toBe('INVALID_ARGUMENT');
    }
  });

  it('reports a failing sign as INVALID_ARGUMENT, and refuses auth with security off', async () => {
    const b = await peer({ auth: authOf(bob) });
    const a = await peer();
    const broken: SessionAuthenticator = {
      sign: () => {
        throw new Error('no key');
      },
      verify: () => 'x',
    };
    const failed = await rejection(placeXppCall(a.ua, a.endpoint, b.ua.contactUri, { auth: broken }));
    expect(failed.code).toBe('INVALID_ARGUMENT');
    const plain = await XppEndpoint.bind({ security: 'off' });
    closers.push(() => plain.close());
    const off = await rejection(placeXppCall(a.ua, plain, b.ua.contactUri, { auth: authOf(alice) }));
    expect(off.code).toBe('INVALID_ARGUMENT');
    expect(b.accepted).toHaveLength(0);
    await noSessions(a, b, { endpoint: plain, ua: a.ua });
  });

  it('works with a certificate-like authenticator (admin-endorsed keys, two Ed25519 checks per side)', async () => {
    const admin = toyIdentity('admin');
    const b = await peer({ auth: toyAuthenticator(bob, [], { admin, blobOctets: 160 }) });
    const a = await peer();
    const call = await placeXppCall(a.ua, a.endpoint, b.ua.contactUri, {
      auth: toyAuthenticator(alice, [], { admin, blobOctets: 160 }),
    });
    expect(call.peer).toBe(Buffer.from(bob.publicKey).toString('hex'));
    const other = toyIdentity('other admin');
    const refused = await rejection(
      placeXppCall(a.ua, a.endpoint, b.ua.contactUri, {
        auth: toyAuthenticator(mallory, [], { admin: other, blobOctets: 160 }),
      }),
    );
    expect(refused.status).toBe(403);
  });

  it('bounds an asynchronous verify by the call signal (ABORTED, and the INVITE is not left hanging)', async () => {
    const endpoint = await XppEndpoint.bind();
    const controller = new AbortController();
    const accepted: Promise<XppCall>[] = [];
    const ua = await SipUserAgent.listen({
      onInvite: (invite) => {
        const call = acceptXppCall(invite, endpoint, {
          auth: authOf(bob, { verifyDelayMs: 60_000 }),
          signal: controller.signal,
        });
        call.catch(() => undefined);
        accepted.push(call);
        setTimeout(() => controller.abort(), 20);
      },
    });
    closers.push(
      () => endpoint.close(),
      () => ua.close(),
    );
    const a = await peer();
    const refused = await rejection(placeXppCall(a.ua, a.endpoint, ua.contactUri, { auth: authOf(alice) }));
    expect(refused.status).toBe(480);
    expect((await rejection(accepted[0]!)).code).toBe('ABORTED');
    expect(endpoint.stats.authRefused).toBe(0);
  });
});

type Rewrite = (text: string, from: 'caller' | 'callee') => string;

/** A UDP relay between the caller's UA and the callee's: what the callee answers goes back through it (rport). */
async function relay(callee: { address: string; port: number }, rewrite: Rewrite) {
  const socket: Socket = createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  let caller: { address: string; port: number } | undefined;
  const counts = { relayed: 0, rewritten: 0 };
  socket.on('message', (msg, from) => {
    const fromCallee = from.port === callee.port && from.address === callee.address;
    if (!fromCallee) caller = { address: from.address, port: from.port };
    const target = fromCallee ? caller : callee;
    if (target === undefined) return;
    const original = msg.toString('utf8');
    const text = rewrite(original, fromCallee ? 'callee' : 'caller');
    counts.relayed++;
    if (text !== original) counts.rewritten++;
    socket.send(Buffer.from(text, 'utf8'), target.port, target.address);
  });
  closers.push(() => new Promise<void>((resolve) => socket.close(() => resolve())));
  const { port } = socket.address();
  return { address: '127.0.0.1', port, counts };
}

const KEY_LINE = /a=xpp-key:x25519:([A-Za-z0-9_-]{43})/;
const AUTH_LINE = /a=xpp-auth:([A-Za-z0-9_-]+)/;
const mitmKey = generateXppKeyPair().publicKey;
const mitmKeyText = Buffer.from(mitmKey).toString('base64url');

/** Swaps the key, and re-signs with Mallory's own identity over what she sent (all lengths kept). */
function resign(text: string): string {
  const callId = /\r\nCall-ID: *([^\r]+)/i.exec(text)?.[1] ?? '';
  const ltag = Number.parseInt(/a=ltag:0x([0-9A-F]{4})/i.exec(text)?.[1] ?? '0', 16);
  const auth = toyAuthenticator(mallory, []).sign(authTranscript({ callId, ltag, publicKey: mitmKey }));
  return text
    .replace(KEY_LINE, `a=xpp-key:x25519:${mitmKeyText}`)
    .replace(AUTH_LINE, `a=xpp-auth:${Buffer.from(auth).toString('base64url')}`);
}

const flipLast = (value: string) => value.slice(0, -2) + (value.at(-2) === 'A' ? 'B' : 'A') + value.slice(-1);

const attacks: [string, Rewrite, 'offer' | 'answer'][] = [
  [
    'a=xpp-key of the offer',
    (t, f) => (f === 'caller' ? t.replace(KEY_LINE, `a=xpp-key:x25519:${mitmKeyText}`) : t),
    'offer',
  ],
  [
    'a=xpp-auth of the offer',
    (t, f) => (f === 'caller' ? t.replace(AUTH_LINE, (l) => flipLast(l)) : t),
    'offer',
  ],
  [
    'key and auth of the offer, re-signed by the relay',
    (t, f) => (f === 'caller' && t.startsWith('INVITE') ? resign(t) : t),
    'offer',
  ],
  [
    'a=xpp-key of the answer',
    (t, f) => (f === 'callee' ? t.replace(KEY_LINE, `a=xpp-key:x25519:${mitmKeyText}`) : t),
    'answer',
  ],
  [
    'a=xpp-auth of the answer',
    (t, f) => (f === 'callee' ? t.replace(AUTH_LINE, (l) => flipLast(l)) : t),
    'answer',
  ],
];

describe('a man in the middle that rewrites the SDP', () => {
  it('relays an untouched call, which opens (the relay itself is no obstacle)', async () => {
    const b = await peer({ auth: authOf(bob) });
    const a = await peer();
    const via = await relay(b.ua.local, (t) => t);
    const call = await placeXppCall(a.ua, a.endpoint, b.ua.contactUri, {
      auth: authOf(alice),
      nextHop: { address: via.address, port: via.port },
    });
    expect(via.counts.relayed).toBeGreaterThanOrEqual(2);
    expect(call.peer).toBe('bob');
    expect((await b.accepted[0]!).peer).toBe('alice');
  });

  it('a replayed authenticated INVITE passes verify but opens no session (no X25519 private key)', async () => {
    const endpoint = await XppEndpoint.bind({ channel: { giveUpAfter: 500 } });
    const accepted: Promise<XppCall>[] = [];
    const ua = await SipUserAgent.listen({
      timers: { T1: 20 },
      onInvite: (invite) => {
        const call = acceptXppCall(invite, endpoint, { auth: authOf(bob) });
        call.catch(() => undefined);
        accepted.push(call);
      },
    });
    closers.push(
      () => endpoint.close(),
      () => ua.close(),
    );
    const a = await peer();
    let captured: string | undefined;
    const via = await relay(ua.local, (text, from) => {
      if (from === 'caller' && text.startsWith('INVITE')) captured = text;
      return text;
    });
    const call = await placeXppCall(a.ua, a.endpoint, ua.contactUri, {
      auth: authOf(alice),
      nextHop: { address: via.address, port: via.port },
    });
    await call.hangUp();
    await new Promise((r) => setTimeout(r, 64 * 20 + 200)); // past Timer L: a new transaction, not a retransmission
    const replayer = createSocket('udp4');
    closers.push(() => new Promise<void>((resolve) => replayer.close(() => resolve())));
    replayer.send(Buffer.from(captured!, 'utf8'), ua.local.port, ua.local.address);
    await expect.poll(() => accepted.length, { timeout: 5000 }).toBe(2);
    const replay = await rejection(accepted[1]!);
    expect(['SETUP_TIMEOUT', 'SIP_TIMEOUT']).toContain(replay.code);
    expect(endpoint.stats.sessions).toBe(0);
    expect(a.endpoint.stats.sessions).toBe(0);
  }, 20_000);

  it.each(attacks)('rewriting %s opens no session either way', async (_, rewrite, side) => {
    const b = await peer({ auth: authOf(bob) });
    const a = await peer();
    const via = await relay(b.ua.local, rewrite);
    const refused = await rejection(
      placeXppCall(a.ua, a.endpoint, b.ua.contactUri, {
        auth: authOf(alice),
        nextHop: { address: via.address, port: via.port },
      }),
    );
    expect(via.counts.rewritten).toBe(1);
    const accepted = await rejection(b.accepted[0]!);
    if (side === 'offer') {
      expect(refused.status).toBe(403);
      expect(accepted.code).toBe('UNAUTHENTICATED');
      expect(b.endpoint.stats.authRefused).toBe(1);
    } else {
      expect(refused.code).toBe('UNAUTHENTICATED');
      expect(accepted.code).toBe('CLOSED');
      expect(a.endpoint.stats.authRefused).toBe(1);
    }
    expect(b.endpoint.stats.datagramsReceived).toBe(0);
    await noSessions(a, b);
  });
});
