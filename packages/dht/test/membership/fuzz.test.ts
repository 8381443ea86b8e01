import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { WireError } from '@xpp/wire';
import {
  AdminKeySet,
  DhtError,
  createPeerAuthenticator,
  decodePeerCertificate,
  decodeRevocation,
  importAdminPrivateKey,
  importPeerIdentity,
  issuePeerCertificate,
  issueRevocation,
  encodeRevocation,
  parseEnrollmentToken,
  signOrigin,
  verifyOrigin,
  verifyPeerCertificate,
  verifyRevocation,
} from '@xpp/dht';
import { KAT, text, unhex } from './kat.js';

const admin = importAdminPrivateKey(unhex(KAT.adminSeed));
const admins = AdminKeySet.ofPrivateKey(admin);
const alice = importPeerIdentity(unhex(KAT.peerSeed));
const certificate = issuePeerCertificate(
  { publicKey: alice.publicKey, domain: KAT.domain, notBefore: KAT.notBefore, notAfter: KAT.notAfter },
  admin,
);
const policy = { admins, domain: KAT.domain, now: KAT.notBefore + 1000 };
const clock = { wallNow: () => policy.now * 1000 };
const transcript = text(KAT.transcript);
const auth = createPeerAuthenticator({ identity: alice, certificate, admins, domain: KAT.domain, clock });
const signedAuth = auth.sign(transcript);
const revocation = encodeRevocation(issueRevocation(alice.peerId, KAT.revokedAt, admin));
const originBytes = text(KAT.originBytes);
const origin = signOrigin(alice, certificate, originBytes);

/** Runs `decode`; anything it throws must be a WireError or a DhtError. */
function onlyCodedErrors(decode: () => unknown): void {
  try {
    decode();
  } catch (error) {
    if (!WireError.is(error) && !DhtError.is(error)) throw error;
  }
}

/** Random octets, or a valid structure truncated, extended or with octets changed. */
function mutations(valid: Uint8Array): fc.Arbitrary<Uint8Array> {
  return fc.oneof(
    fc.uint8Array({ maxLength: valid.length + 16 }),
    fc.nat({ max: valid.length - 1 }).map((n) => valid.slice(0, n)),
    fc.uint8Array({ minLength: 1, maxLength: 8 }).map((tail) => Uint8Array.from([...valid, ...tail])),
    fc
      .array(fc.tuple(fc.nat({ max: valid.length - 1 }), fc.integer({ min: 1, max: 255 })), {
        minLength: 1,
        maxLength: 4,
      })
      .map((flips) => {
        const out = valid.slice();
        for (const [at, xor] of flips) out[at] = (out[at] as number) ^ xor;
        return out;
      }),
  );
}

/** Mutations that change the octets (random draws equal to `valid` are dropped). */
function changed(valid: Uint8Array): fc.Arbitrary<Uint8Array> {
  return mutations(valid).filter((m) => Buffer.compare(m, valid) !== 0);
}

describe('decoders of untrusted octets throw only WireError or DhtError', () => {
  it('peer certificate', () => {
    fc.assert(
      fc.property(mutations(unhex(KAT.certificate)), (b) => onlyCodedErrors(() => decodePeerCertificate(b))),
    );
  });
  it('revocation', () => {
    fc.assert(fc.property(mutations(revocation), (b) => onlyCodedErrors(() => decodeRevocation(b))));
  });
  it('a=xpp-auth blob', () => {
    fc.assert(fc.property(mutations(signedAuth), (b) => onlyCodedErrors(() => auth.verify(b, transcript))));
  });
  it('signed origin', () => {
    fc.assert(
      fc.property(mutations(origin), (b) => onlyCodedErrors(() => verifyOrigin(b, originBytes, policy))),
    );
  });
  it('enrollment token text', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 80 }), (t) => onlyCodedErrors(() => parseEnrollmentToken(t))),
    );
  });
});

describe('a mutated signed structure never verifies', () => {
  it('certificate', () => {
    fc.assert(
      fc.property(changed(unhex(KAT.certificate)), (b) => {
        expect(() => verifyPeerCertificate(decodePeerCertificate(b), policy)).toThrow();
      }),
    );
  });
  it('revocation', () => {
    fc.assert(
      fc.property(changed(revocation), (b) => {
        expect(() => verifyRevocation(decodeRevocation(b), admins)).toThrow();
      }),
    );
  });
  it('a=xpp-auth blob, and its transcript', () => {
    fc.assert(
      fc.property(changed(signedAuth), (b) => {
        expect(() => auth.verify(b, transcript)).toThrow();
      }),
    );
    fc.assert(
      fc.property(changed(transcript), (t) => {
        expect(() => auth.verify(signedAuth, t)).toThrow();
      }),
    );
  });
  it('signed origin, and the bytes it covers', () => {
    fc.assert(
      fc.property(changed(origin), (b) => {
        expect(() => verifyOrigin(b, originBytes, policy)).toThrow();
      }),
    );
    fc.assert(
      fc.property(changed(originBytes), (t) => {
        expect(() => verifyOrigin(origin, t, policy)).toThrow();
      }),
    );
  });
});
