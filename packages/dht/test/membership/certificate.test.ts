import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  AdminKeySet,
  CERTIFICATE_CLOCK_SKEW,
  DhtError,
  certificateRefusalOf,
  decodePeerCertificate,
  encodePeerCertificate,
  exportAdminPublicKey,
  exportPeerIdentity,
  generateAdminKeyPair,
  generatePeerIdentity,
  importAdminPrivateKey,
  importPeerIdentity,
  issuePeerCertificate,
  peerIdOf,
  signWithIdentity,
  verifyPeerCertificate,
  type CertificatePolicy,
  type PeerCertificate,
} from '@xpp/dht';
import { KAT, hex, unhex } from './kat.js';

const admin = importAdminPrivateKey(unhex(KAT.adminSeed));
const admins = AdminKeySet.ofPrivateKey(admin);
const peer = importPeerIdentity(unhex(KAT.peerSeed));
const policy: CertificatePolicy = { admins, domain: KAT.domain, now: KAT.notBefore + 1000 };

function refusal(run: () => unknown): string {
  try {
    run();
    return 'accepted';
  } catch (error) {
    const reason = certificateRefusalOf(error);
    if (reason !== undefined) return reason;
    throw error;
  }
}

function certify(
  over: Partial<{ domain: string; notBefore: number; notAfter: number }> = {},
): PeerCertificate {
  return issuePeerCertificate(
    {
      publicKey: peer.publicKey,
      domain: KAT.domain,
      notBefore: KAT.notBefore,
      notAfter: KAT.notAfter,
      ...over,
    },
    admin,
  );
}

describe('peer identity (spec §5.2)', () => {
  it('derives the known id from the known seed', () => {
    expect(hex(peer.publicKey)).toBe(KAT.peerPublicKey);
    expect(peer.id).toBe(KAT.peerId);
    expect(hex(peerIdOf(peer.publicKey))).toBe(KAT.peerId);
  });

  it('round-trips through PKCS#8 PEM and refuses what is not an Ed25519 private key', () => {
    const fresh = generatePeerIdentity();
    const pem = exportPeerIdentity(fresh);
    expect(pem).toMatch(/^-----BEGIN PRIVATE KEY-----/);
    expect(importPeerIdentity(pem).id).toBe(fresh.id);
    const rsa = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
    for (const bad of [
      'not a key',
      new Uint8Array(31),
      rsa.export({ type: 'pkcs8', format: 'pem' }).toString(),
    ]) {
      expect(() => importPeerIdentity(bad)).toThrow(
        expect.objectContaining({ code: 'INVALID_IDENTITY_KEY' }),
      );
    }
    expect(() => peerIdOf(new Uint8Array(16))).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
  });

  it('signs 64 octets with the identity key', () => {
    expect(signWithIdentity(peer, new Uint8Array(3))).toHaveLength(64);
  });
});

describe('AdminKeySet', () => {
  it('accepts KeyObjects, raw octets, hex and PEM, counting duplicates once', () => {
    const other = generateAdminKeyPair();
    const raw = exportAdminPublicKey(other.publicKey);
    const set = new AdminKeySet([
      other.publicKey,
      raw,
      hex(raw),
      other.publicKey.export({ type: 'spki', format: 'pem' }).toString(),
      admins.publicKeys[0] as Uint8Array,
    ]);
    expect(set.size).toBe(2);
    expect(set.has(raw)).toBe(true);
  });

  it('refuses an empty set, a private key and junk', () => {
    expect(() => new AdminKeySet([])).toThrow(expect.objectContaining({ code: 'INVALID_ADMIN_KEY' }));
    expect(() => new AdminKeySet([admin])).toThrow(expect.objectContaining({ code: 'INVALID_ADMIN_KEY' }));
    expect(() => new AdminKeySet(['zz'])).toThrow(expect.objectContaining({ code: 'INVALID_ADMIN_KEY' }));
    expect(() => new AdminKeySet([new Uint8Array(33)])).toThrow(
      expect.objectContaining({ code: 'INVALID_ADMIN_KEY' }),
    );
  });

  it('verifies a signature by any of its keys (rotation)', () => {
    const next = generateAdminKeyPair();
    const both = new AdminKeySet([admins.publicKeys[0] as Uint8Array, next.publicKey]);
    const byNew = issuePeerCertificate(
      { publicKey: peer.publicKey, domain: KAT.domain, notBefore: KAT.notBefore, notAfter: KAT.notAfter },
      next.privateKey,
    );
    expect(refusal(() => verifyPeerCertificate(byNew, { ...policy, admins: both }))).toBe('accepted');
    expect(refusal(() => verifyPeerCertificate(certify(), { ...policy, admins: both }))).toBe('accepted');
    expect(refusal(() => verifyPeerCertificate(byNew, policy))).toBe('bad-signature');
  });
});

describe('peer certificate (spec §5.3)', () => {
  it('encodes the known-answer octets and decodes them back', () => {
    const certificate = certify();
    expect(hex(encodePeerCertificate(certificate))).toBe(KAT.certificate);
    const decoded = decodePeerCertificate(unhex(KAT.certificate));
    expect(decoded).toEqual(certificate);
    expect(refusal(() => verifyPeerCertificate(decoded, { ...policy, peerId: peer.peerId }))).toBe(
      'accepted',
    );
  });

  it('lays out the octets big-endian as the spec says', () => {
    const octets = unhex(KAT.certificate);
    const view = new DataView(octets.buffer);
    expect(octets[0]).toBe(1);
    expect(hex(octets.subarray(1, 33))).toBe(KAT.peerPublicKey);
    expect(Number(view.getBigUint64(33))).toBe(KAT.notBefore);
    expect(Number(view.getBigUint64(41))).toBe(KAT.notAfter);
    expect(view.getUint16(49)).toBe(KAT.domain.length);
    expect(new TextDecoder().decode(octets.subarray(51, 51 + KAT.domain.length))).toBe(KAT.domain);
    expect(octets.length).toBe(51 + KAT.domain.length + 64);
  });

  it('refuses for every reason it can see itself', () => {
    const stranger = generateAdminKeyPair().privateKey;
    const selfSigned = issuePeerCertificate(
      { publicKey: peer.publicKey, domain: KAT.domain, notBefore: KAT.notBefore, notAfter: KAT.notAfter },
      stranger,
    );
    expect(refusal(() => verifyPeerCertificate(selfSigned, policy))).toBe('bad-signature');
    const forged = { ...certify(), notAfter: KAT.notAfter + 86_400 };
    expect(refusal(() => verifyPeerCertificate(forged, policy))).toBe('bad-signature');
    expect(refusal(() => verifyPeerCertificate(certify({ domain: 'other.org' }), policy))).toBe(
      'wrong-domain',
    );
    expect(refusal(() => verifyPeerCertificate(certify(), { ...policy, now: KAT.notBefore - 301 }))).toBe(
      'not-yet-valid',
    );
    expect(refusal(() => verifyPeerCertificate(certify(), { ...policy, now: KAT.notAfter + 301 }))).toBe(
      'expired',
    );
    expect(
      refusal(() => verifyPeerCertificate(certify(), { ...policy, peerId: generatePeerIdentity().peerId })),
    ).toBe('id-mismatch');
    const short = { ...certify(), publicKey: new Uint8Array(31) };
    expect(refusal(() => verifyPeerCertificate(short, policy))).toBe('malformed');
  });

  it('refusals are DhtError CERTIFICATE_REFUSED (403) with the reason', () => {
    try {
      verifyPeerCertificate(certify({ domain: 'other.org' }), policy);
      expect.unreachable();
    } catch (error) {
      expect(DhtError.is(error, 'CERTIFICATE_REFUSED')).toBe(true);
      expect((error as DhtError).status).toBe(403);
      expect(error).toMatchObject({ reason: 'wrong-domain' });
    }
  });

  it('holds the window inclusive at both ends with exactly 300 s of skew', () => {
    const c = certify();
    const at = (now: number) => refusal(() => verifyPeerCertificate(c, { ...policy, now }));
    expect(CERTIFICATE_CLOCK_SKEW).toBe(300);
    expect(at(KAT.notBefore - 300)).toBe('accepted');
    expect(at(KAT.notBefore - 301)).toBe('not-yet-valid');
    expect(at(KAT.notBefore)).toBe('accepted');
    expect(at(KAT.notAfter)).toBe('accepted');
    expect(at(KAT.notAfter + 300)).toBe('accepted');
    expect(at(KAT.notAfter + 301)).toBe('expired');
  });

  it('refuses to issue what it could not encode', () => {
    expect(() => certify({ notAfter: KAT.notBefore - 1 })).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    );
    expect(() => certify({ domain: '' })).toThrow(expect.objectContaining({ code: 'INVALID_FIELD' }));
    expect(() => certify({ domain: 'x'.repeat(256) })).toThrow(
      expect.objectContaining({ code: 'INVALID_FIELD' }),
    );
    expect(() => certify({ notAfter: 2 ** 53 })).toThrow(expect.objectContaining({ code: 'INVALID_FIELD' }));
  });

  it('decodes a u64 time up to 2^53 - 1 and refuses a larger one', () => {
    const octets = unhex(KAT.certificate);
    octets.set([0, 0x1f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff], 41);
    expect(decodePeerCertificate(octets).notAfter).toBe(Number.MAX_SAFE_INTEGER);
    octets[42] = 0x20;
    expect(() => decodePeerCertificate(octets)).toThrow(expect.objectContaining({ code: 'BAD_VALUE' }));
  });
});
