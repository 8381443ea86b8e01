import { describe, expect, it, vi } from 'vitest';
import {
  AdminKeySet,
  CertificateCache,
  DhtError,
  certificateRefusalOf,
  createOriginVerifier,
  createPeerAuthenticator,
  createRevocationVerifier,
  decodeRevocation,
  encodePeerCertificate,
  encodeRevocation,
  generateAdminKeyPair,
  generatePeerIdentity,
  importAdminPrivateKey,
  importPeerIdentity,
  issuePeerCertificate,
  issueRevocation,
  revocationKey,
  signOrigin,
  verifyOrigin,
  verifyRevocation,
  type CertificateRefusal,
  type PeerAuthenticatorOptions,
  type PeerIdentity,
} from '@xpp/dht';
import { KAT, hex, text, unhex } from './kat.js';

const admin = importAdminPrivateKey(unhex(KAT.adminSeed));
const admins = AdminKeySet.ofPrivateKey(admin);
const nowMs = (KAT.notBefore + 1000) * 1000;
const clock = { wallNow: () => nowMs };
const transcript = text(KAT.transcript);

function certified(identity: PeerIdentity, key = admin, domain: string = KAT.domain) {
  return issuePeerCertificate(
    { publicKey: identity.publicKey, domain, notBefore: KAT.notBefore, notAfter: KAT.notAfter },
    key,
  );
}

function authenticator(identity: PeerIdentity, over: Partial<PeerAuthenticatorOptions> = {}) {
  return createPeerAuthenticator({
    identity,
    certificate: certified(identity),
    admins,
    domain: KAT.domain,
    clock,
    ...over,
  });
}

async function outcome(run: () => unknown): Promise<string> {
  try {
    return String(await run());
  } catch (error) {
    const reason = certificateRefusalOf(error);
    if (reason !== undefined) return reason;
    throw error;
  }
}

describe('createPeerAuthenticator (spec §5.5)', () => {
  const alice = importPeerIdentity(unhex(KAT.peerSeed));
  const bob = generatePeerIdentity();

  it('signs the known-answer blob: certificate octets ‖ signature over the transcript', () => {
    const blob = authenticator(alice).sign(transcript);
    expect(hex(blob)).toBe(KAT.certificate + KAT.authSignature);
  });

  it('verifies the other side and answers its certified peer id', async () => {
    const blob = authenticator(alice).sign(transcript);
    expect(await outcome(() => authenticator(bob).verify(blob, transcript))).toBe(alice.id);
  });

  it('refuses every way an outsider or a man in the middle can present itself, counting each reason', async () => {
    const counted: CertificateRefusal[] = [];
    const verifier = authenticator(bob, { refused: (r) => counted.push(r) });
    const mallory = generatePeerIdentity();
    const rogueAdmin = generateAdminKeyPair().privateKey;
    const signed = (identity: PeerIdentity, certificate = certified(identity)) =>
      createPeerAuthenticator({ identity, certificate, admins, domain: KAT.domain, clock }).sign(transcript);
    const cases: [string, Uint8Array, Uint8Array][] = [
      ['bad-signature', signed(mallory, certified(mallory, rogueAdmin)), transcript],
      ['wrong-domain', signed(mallory, certified(mallory, admin, 'other.org')), transcript],
      ['malformed', new Uint8Array(64), transcript],
      ['malformed', new Uint8Array(200), transcript],
      ['bad-transcript-signature', signed(alice), text('xpp-auth v1 another transcript')],
    ];
    // Alice's certificate with Mallory's signature: a key that is not the certified one.
    const stolen = authenticator(alice).sign(transcript);
    stolen.set(signWith(mallory), stolen.length - 64);
    cases.push(['bad-transcript-signature', stolen, transcript]);
    for (const [reason, blob, t] of cases) {
      expect(await outcome(() => verifier.verify(blob, t))).toBe(reason);
    }
    expect(counted).toEqual(cases.map(([reason]) => reason));
  });

  function signWith(identity: PeerIdentity): Uint8Array {
    return authenticator(identity).sign(transcript).subarray(-64);
  }

  it('refuses outside the window, with the skew', async () => {
    const blob = authenticator(alice).sign(transcript);
    const at = (s: number) => authenticator(bob, { clock: { wallNow: () => s * 1000 + 999 } });
    expect(await outcome(() => at(KAT.notAfter + 300).verify(blob, transcript))).toBe(alice.id);
    expect(await outcome(() => at(KAT.notAfter + 301).verify(blob, transcript))).toBe('expired');
    expect(await outcome(() => at(KAT.notBefore - 301).verify(blob, transcript))).toBe('not-yet-valid');
  });

  it('re-checks the window on a cached certificate', async () => {
    let now = nowMs;
    const verifier = authenticator(bob, { clock: { wallNow: () => now } });
    const blob = authenticator(alice).sign(transcript);
    expect(await outcome(() => verifier.verify(blob, transcript))).toBe(alice.id);
    now = (KAT.notAfter + 301) * 1000;
    expect(await outcome(() => verifier.verify(blob, transcript))).toBe('expired');
  });

  it('asks isRevoked on every use of a cached certificate', async () => {
    let revoked = false;
    const verifier = authenticator(bob, { isRevoked: () => revoked });
    const blob = authenticator(alice).sign(transcript);
    expect(await outcome(() => verifier.verify(blob, transcript))).toBe(alice.id);
    revoked = true;
    expect(await outcome(() => verifier.verify(blob, transcript))).toBe('revoked');
  });

  it('asks isRevoked (sync or async) and refuses a revoked peer', async () => {
    const blob = authenticator(alice).sign(transcript);
    const counted: CertificateRefusal[] = [];
    const sync = authenticator(bob, { isRevoked: (id) => id === alice.id, refused: (r) => counted.push(r) });
    expect(await outcome(() => sync.verify(blob, transcript))).toBe('revoked');
    const async = authenticator(bob, { isRevoked: (id) => Promise.resolve(id === alice.id) });
    const result = async.verify(blob, transcript);
    expect(result).toBeInstanceOf(Promise);
    expect(await outcome(() => result)).toBe('revoked');
    const notRevoked = authenticator(bob, { isRevoked: () => Promise.resolve(false) });
    expect(await outcome(() => notRevoked.verify(blob, transcript))).toBe(alice.id);
    const failing = authenticator(bob, { isRevoked: () => Promise.reject(new Error('no route')) });
    await expect(failing.verify(blob, transcript)).rejects.toThrow('no route');
    expect(counted).toEqual(['revoked']);
  });

  it('refuses to be built with a certificate for another key', () => {
    expect(() => authenticator(alice, { certificate: certified(bob) })).toThrow(
      expect.objectContaining({ code: 'CERTIFICATE_REFUSED', reason: 'id-mismatch' }),
    );
  });

  it('checks the administrator signature once per certificate (cache)', async () => {
    const verify = vi.spyOn(admins, 'verify');
    const verifier = authenticator(bob);
    const blob = authenticator(alice).sign(transcript);
    for (let i = 0; i < 5; i++) expect(await outcome(() => verifier.verify(blob, transcript))).toBe(alice.id);
    expect(verify).toHaveBeenCalledTimes(1);
    // A refused certificate is not cached as good, and a forged copy does not hit the cached entry.
    const forged = blob.slice();
    forged[50] = (forged[50] as number) ^ 1;
    expect(await outcome(() => verifier.verify(forged, transcript))).not.toBe(alice.id);
    verify.mockRestore();
  });

  it('bounds the cache', async () => {
    const verify = vi.spyOn(admins, 'verify');
    const verifier = authenticator(bob, { cacheSize: 2 });
    const peers = [generatePeerIdentity(), generatePeerIdentity(), generatePeerIdentity()];
    const blobs = peers.map((p) => authenticator(p).sign(transcript));
    for (const blob of [...blobs, blobs[0] as Uint8Array]) await verifier.verify(blob, transcript);
    expect(verify).toHaveBeenCalledTimes(4); // the first was evicted by the third
    verify.mockRestore();
  });

  // A node verifies its neighbours' certificates in session setups and in routed writes' origins: one cache.
  it('shares one cache between a session authenticator and an origin verifier, only for the same policy', async () => {
    const verify = vi.spyOn(admins, 'verify');
    const cache = new CertificateCache({ admins, domain: KAT.domain });
    const verifier = authenticator(bob, { cache });
    const origin = createOriginVerifier({ admins, domain: KAT.domain, clock, cache });
    expect(await outcome(() => verifier.verify(authenticator(alice).sign(transcript), transcript))).toBe(
      alice.id,
    );
    const bytes = text('a routed write');
    expect(origin(signOrigin(alice, certified(alice), bytes), bytes)).toBe(alice.id);
    expect(verify).toHaveBeenCalledTimes(1);
    expect(cache.size).toBe(1);
    // Still checked where it matters: the origin's own signature over these bytes, and the window at every use.
    expect(() => origin(signOrigin(alice, certified(alice), bytes), text('other bytes'))).toThrow(
      expect.objectContaining({ reason: 'bad-transcript-signature' }),
    );
    verify.mockRestore();
    // A cache checked against another administrator set or domain vouches for nothing here.
    const others = AdminKeySet.ofPrivateKey(generateAdminKeyPair().privateKey);
    for (const wrong of [
      new CertificateCache({ admins: others, domain: KAT.domain }),
      new CertificateCache({ admins, domain: `other.${KAT.domain}` }),
    ]) {
      expect(() => authenticator(bob, { cache: wrong })).toThrow(
        expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
      );
      expect(() => createOriginVerifier({ admins, domain: KAT.domain, clock, cache: wrong })).toThrow(
        expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
      );
    }
  });
});

describe('revocation (spec §5.3)', () => {
  const alice = importPeerIdentity(unhex(KAT.peerSeed));

  it('encodes the known-answer octets, round-trips and verifies', () => {
    const revocation = issueRevocation(alice.peerId, KAT.revokedAt, admin);
    expect(hex(encodeRevocation(revocation))).toBe(KAT.revocation);
    const decoded = decodeRevocation(unhex(KAT.revocation));
    expect(decoded).toEqual(revocation);
    expect(() => verifyRevocation(decoded, admins)).not.toThrow();
    expect(revocationKey(alice.id.toUpperCase())).toBe(`revoked:${KAT.peerId}`);
    expect(createRevocationVerifier(admins)(`revoked:${KAT.peerId}`, unhex(KAT.revocation))).toEqual(
      revocation,
    );
  });

  it('refuses a revocation not signed by an administrator, or stored under another key', () => {
    const rogue = issueRevocation(alice.peerId, KAT.revokedAt, generateAdminKeyPair().privateKey);
    expect(() => verifyRevocation(rogue, admins)).toThrow(expect.objectContaining({ code: 'BAD_SIGNATURE' }));
    const moved = { ...issueRevocation(alice.peerId, KAT.revokedAt, admin), revokedAt: KAT.revokedAt + 1 };
    expect(() => verifyRevocation(moved, admins)).toThrow(expect.objectContaining({ code: 'BAD_SIGNATURE' }));
    const verifier = createRevocationVerifier(admins);
    expect(() => verifier(revocationKey('00'.repeat(16)), unhex(KAT.revocation))).toThrow(
      expect.objectContaining({ code: 'INVALID_KEY' }),
    );
    expect(() => verifier(`revoked:${KAT.peerId}`, new Uint8Array(5))).toThrow(
      expect.objectContaining({ code: 'INVALID_VALUE' }),
    );
    expect(() => revocationKey('xyz')).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
  });
});

describe('signed origin', () => {
  const alice = importPeerIdentity(unhex(KAT.peerSeed));
  const policy = { admins, domain: KAT.domain, now: KAT.notBefore + 1000 };
  const bytes = text(KAT.originBytes);

  it('signs the known-answer origin and verifies it to the certified id', () => {
    const origin = signOrigin(alice, certified(alice), bytes);
    expect(hex(origin)).toBe(KAT.certificate + KAT.originSignature);
    expect(verifyOrigin(origin, bytes, policy)).toBe(alice.id);
    expect(createOriginVerifier({ admins, domain: KAT.domain, clock })(origin, bytes)).toBe(alice.id);
  });

  it('refuses an origin over other bytes, a session signature as an origin, and an outsider', async () => {
    const origin = signOrigin(alice, certified(alice), bytes);
    expect(await outcome(() => verifyOrigin(origin, text('bob@example.org'), policy))).toBe(
      'bad-transcript-signature',
    );
    // The same identity's session signature over the same octets is not an origin signature (labels differ).
    const session = authenticator(alice).sign(bytes);
    expect(await outcome(() => verifyOrigin(session, bytes, policy))).toBe('bad-transcript-signature');
    const mallory = generatePeerIdentity();
    const rogue = signOrigin(mallory, certified(mallory, generateAdminKeyPair().privateKey), bytes);
    expect(await outcome(() => verifyOrigin(rogue, bytes, policy))).toBe('bad-signature');
    expect(() => verifyOrigin(new Uint8Array(10), bytes, policy)).toThrow(
      expect.objectContaining({ code: 'CERTIFICATE_REFUSED', reason: 'malformed' }),
    );
    expect(() => signOrigin(mallory, certified(alice), bytes)).toThrow(
      expect.objectContaining({ reason: 'id-mismatch' }),
    );
    expect(DhtError.is(new Error('x'))).toBe(false);
    expect(encodePeerCertificate(certified(alice))).toEqual(unhex(KAT.certificate));
  });
});
