import { describe, expect, it, vi } from 'vitest';
import * as crypto from 'node:crypto';
import type * as NodeCrypto from 'node:crypto';
import {
  EnrollmentBook,
  createEnrollmentToken,
  enrollmentProof,
  generatePeerIdentity,
  importPeerIdentity,
  parseEnrollmentToken,
} from '@xpp/dht';
import { KAT, hex, unhex } from './kat.js';

vi.mock('node:crypto', async (original) => {
  const actual = await original<typeof NodeCrypto>();
  return { ...actual, timingSafeEqual: vi.fn(actual.timingSafeEqual) };
});

const DAY = 86_400;
const now = KAT.notBefore;

describe('enrollment tokens', () => {
  const alice = importPeerIdentity(unhex(KAT.peerSeed));

  it('computes the known-answer proof: HMAC-SHA256(secret, xpp-enroll v1 ‖ token id ‖ public key)', () => {
    const proof = enrollmentProof(unhex(KAT.enrollmentSecret), KAT.enrollmentTokenId, alice.publicKey);
    expect(hex(proof)).toBe(KAT.enrollmentProof);
    const expected = crypto
      .createHmac('sha256', unhex(KAT.enrollmentSecret))
      .update(Buffer.concat([Buffer.from('xpp-enroll v1'), unhex(KAT.enrollmentTokenId), alice.publicKey]))
      .digest('hex');
    expect(hex(proof)).toBe(expected);
  });

  it('prints a token as 64 base64url characters that parse back to its id and secret', () => {
    const token = createEnrollmentToken({ days: 7, now });
    expect(token.text).toMatch(/^[A-Za-z0-9_-]{64}$/);
    expect(token.expiresAt).toBe(now + 7 * DAY);
    const parsed = parseEnrollmentToken(` ${token.text}\n`);
    expect(parsed.id).toBe(token.id);
    expect(parsed.secret).toEqual(token.secret);
    for (const bad of ['', token.text.slice(1), `${token.text}=`, token.text.replace(/.$/, '+')]) {
      expect(() => parseEnrollmentToken(bad)).toThrow(expect.objectContaining({ code: 'BAD_VALUE' }));
    }
    expect(() => createEnrollmentToken({ days: 0 })).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    );
  });

  it('binds the proof to the public key and the token, checked in constant time', async () => {
    // Fresh modules, so the mocked node:crypto is the one the enrollment code uses even when another test file
    // loaded it first (`pnpm test:fast` shares one module graph between files).
    vi.resetModules();
    const mocked = await import('node:crypto');
    const { checkEnrollmentProof } = await import('../../src/membership/enrollment.js');
    const token = createEnrollmentToken({ days: 1, now });
    const proof = enrollmentProof(token.secret, token.id, alice.publicKey);
    const compare = vi.mocked(mocked.timingSafeEqual);
    compare.mockClear();
    expect(checkEnrollmentProof(token.secret, token.id, alice.publicKey, proof)).toBe(true);
    expect(checkEnrollmentProof(token.secret, token.id, generatePeerIdentity().publicKey, proof)).toBe(false);
    const other = createEnrollmentToken({ days: 1, now });
    expect(checkEnrollmentProof(other.secret, token.id, alice.publicKey, proof)).toBe(false);
    const flipped = proof.slice();
    flipped[31] = (flipped[31] as number) ^ 1;
    expect(checkEnrollmentProof(token.secret, token.id, alice.publicKey, flipped)).toBe(false);
    // Every equal-length comparison went through timingSafeEqual; a short proof is refused on its public length.
    expect(compare).toHaveBeenCalledTimes(4);
    expect(checkEnrollmentProof(token.secret, token.id, alice.publicKey, proof.subarray(0, 16))).toBe(false);
    expect(compare).toHaveBeenCalledTimes(4);
  });

  it('redeems a token once, before it expires, only with a proof for the key', () => {
    const book = new EnrollmentBook();
    const token = book.issue(1, now);
    const request = (publicKey: Uint8Array, proof = enrollmentProof(token.secret, token.id, publicKey)) => ({
      tokenId: token.id,
      publicKey,
      proof,
    });
    const refused = expect.objectContaining({ code: 'ENROLLMENT_REFUSED' });
    // A proof made for Alice's key does not enroll Mallory's.
    const mallory = generatePeerIdentity().publicKey;
    expect(() =>
      book.redeem(request(mallory, enrollmentProof(token.secret, token.id, alice.publicKey)), now),
    ).toThrow(refused);
    expect(book.size).toBe(1); // a wrong proof does not use it up
    book.redeem(request(alice.publicKey), now + DAY); // inclusive expiry
    expect(() => book.redeem(request(alice.publicKey), now)).toThrow(refused); // one-time
    const late = book.issue(1, now);
    expect(() =>
      book.redeem(
        {
          tokenId: late.id,
          publicKey: alice.publicKey,
          proof: enrollmentProof(late.secret, late.id, alice.publicKey),
        },
        now + DAY + 1,
      ),
    ).toThrow(refused);
    expect(book.size).toBe(0);
  });

  it('keeps open tokens across a restart and forgets expired ones', () => {
    const book = new EnrollmentBook();
    const kept = book.issue(2, now);
    book.issue(1, now);
    book.prune(now + DAY + 1);
    const restarted = new EnrollmentBook(book.entries());
    expect(restarted.size).toBe(1);
    restarted.redeem(
      {
        tokenId: kept.id,
        publicKey: alice.publicKey,
        proof: enrollmentProof(kept.secret, kept.id, alice.publicKey),
      },
      now + DAY,
    );
  });
});
