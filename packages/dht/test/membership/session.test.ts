// The certificate policy plugged into @xpp/session-sdp's authenticated sessions, over real UDP loopback: certified
// peers get a session and learn each other's certified id; an outsider, an expired or revoked certificate get a
// 403 (or, in an answer, no SYN) and no session, each refusal counted by reason.
import { afterEach, describe, expect, it } from 'vitest';
import {
  acceptXppCall,
  placeXppCall,
  SessionError,
  SipUserAgent,
  XppEndpoint,
  type IncomingInvite,
  type SessionAuthenticator,
  type XppCall,
} from '@xpp/session-sdp';
import {
  AdminKeySet,
  certificateRefusalOf,
  createPeerAuthenticator,
  generateAdminKeyPair,
  generatePeerIdentity,
  issuePeerCertificate,
  type CertificateRefusal,
  type PeerAuthenticatorOptions,
  type PeerIdentity,
} from '@xpp/dht';

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

const DOMAIN = 'example.org';
const admin = generateAdminKeyPair();
const admins = new AdminKeySet([admin.publicKey]);
const now = Math.floor(Date.now() / 1000);
const clock = { wallNow: () => Date.now() };

function authOf(
  identity: PeerIdentity,
  over: Partial<PeerAuthenticatorOptions> & { notAfter?: number; issuer?: typeof admin.privateKey } = {},
): SessionAuthenticator {
  const { notAfter = now + 86_400, issuer = admin.privateKey, ...options } = over;
  const certificate = issuePeerCertificate(
    { publicKey: identity.publicKey, domain: DOMAIN, notBefore: now - 86_400, notAfter },
    issuer,
  );
  return createPeerAuthenticator({ identity, certificate, admins, domain: DOMAIN, clock, ...options });
}

async function peer(auth: SessionAuthenticator) {
  const endpoint = await XppEndpoint.bind();
  const accepted: Promise<XppCall>[] = [];
  const ua = await SipUserAgent.listen({
    onInvite: (invite: IncomingInvite) => {
      const call = acceptXppCall(invite, endpoint, { auth });
      call.catch(() => undefined);
      accepted.push(call);
    },
  });
  closers.push(
    () => endpoint.close(),
    () => ua.close(),
  );
  return { endpoint, ua, accepted };
}

async function refusal(promise: Promise<unknown>): Promise<SessionError> {
  const error = await promise.then(
    () => {
      throw new Error('expected a refusal');
    },
    (e: unknown) => e,
  );
  expect(SessionError.is(error)).toBe(true);
  return error as SessionError;
}

describe('createPeerAuthenticator in session-sdp calls (spec §5.5)', () => {
  const alice = generatePeerIdentity();
  const bob = generatePeerIdentity();

  it('opens a session between certified peers, each knowing the other by its certified id', async () => {
    const b = await peer(authOf(bob, { isRevoked: () => Promise.resolve(false) }));
    const a = await peer(authOf(alice));
    const outgoing = await placeXppCall(a.ua, a.endpoint, b.ua.contactUri, { auth: authOf(alice) });
    const incoming = await (b.accepted[0] as Promise<XppCall>);
    expect(outgoing.peer).toBe(bob.id);
    expect(incoming.peer).toBe(alice.id);
    expect(outgoing.session.secure).toBe(true);
    await outgoing.hangUp();
  });

  it('answers 403 to an outsider, an expired and a revoked certificate, opening nothing', async () => {
    const mallory = generatePeerIdentity();
    const reasons: CertificateRefusal[] = [];
    const b = await peer(
      authOf(bob, { isRevoked: (id) => Promise.resolve(id === mallory.id), refused: (r) => reasons.push(r) }),
    );
    const a = await peer(authOf(alice));
    const callers = [
      authOf(generatePeerIdentity(), { issuer: generateAdminKeyPair().privateKey }), // self-made "admin"
      authOf(generatePeerIdentity(), { notAfter: now - 301 }), // expired beyond the skew
      authOf(mallory), // certified, then revoked
    ];
    for (const [i, auth] of callers.entries()) {
      const refused = await refusal(placeXppCall(a.ua, a.endpoint, b.ua.contactUri, { auth }));
      expect(refused.status).toBe(403);
      const ended = await refusal(b.accepted[i] as Promise<XppCall>);
      expect(ended.code).toBe('UNAUTHENTICATED');
    }
    expect(reasons).toEqual(['bad-signature', 'expired', 'revoked']);
    expect(b.endpoint.stats.authRefused).toBe(3);
    expect(b.endpoint.stats.sessions).toBe(0);
    expect(a.endpoint.stats.sessions).toBe(0);
  });

  it('sends no SYN when the answer carries a certificate for another domain', async () => {
    const other = generatePeerIdentity();
    const certificate = issuePeerCertificate(
      { publicKey: other.publicKey, domain: 'other.org', notBefore: now, notAfter: now + 86_400 },
      admin.privateKey,
    );
    // It accepts the example.org offer but presents its other.org certificate in the answer.
    const b = await peer(
      createPeerAuthenticator({ identity: other, certificate, admins, domain: DOMAIN, clock }),
    );
    const a = await peer(authOf(alice));
    const refused = await refusal(placeXppCall(a.ua, a.endpoint, b.ua.contactUri, { auth: authOf(alice) }));
    expect(refused.code).toBe('UNAUTHENTICATED');
    expect(certificateRefusalOf(refused.cause)).toBe('wrong-domain');
    expect(b.endpoint.stats.datagramsReceived).toBe(0);
  });
});
