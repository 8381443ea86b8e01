import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { WireError } from '@xpp/wire';
import { DhtError } from '../errors.js';
import { PEER_PUBLIC_KEY_SIZE, toHex } from './identity.js';

/** Octets of a token id and of its secret (the HMAC key). */
export const ENROLLMENT_TOKEN_ID_SIZE = 16;
export const ENROLLMENT_SECRET_SIZE = 32;
export const ENROLLMENT_PROOF_SIZE = 32;
/** Default life of an invitation token, in days. */
export const DEFAULT_ENROLLMENT_DAYS = 7;
const LABEL = new TextEncoder().encode('xpp-enroll v1');
const TOKEN_TEXT = /^[A-Za-z0-9_-]{64}$/;
const TOKEN_ID_HEX = /^[0-9a-f]{32}$/;
const DAY = 86_400;

/** What `peer invite` prints: the token id and its secret; the secret never travels, only proofs made with it. */
export interface EnrollmentToken {
  /** Token id, lower-case hex of 16 octets: sent with a proof so the administrator finds the secret. */
  readonly id: string;
  /** 32 random octets, the HMAC key. */
  readonly secret: Uint8Array;
  /** Unix seconds after which the administrator refuses it. */
  readonly expiresAt: number;
  /** What the operator copies to the joining host: base64url (unpadded) of id ‖ secret. */
  readonly text: string;
}

function unixNow(): number {
  return Math.floor(Date.now() / 1000);
}

/** A fresh one-time token valid for `days` from `now` (Unix seconds, default the system clock). */
export function createEnrollmentToken(options: { days: number; now?: number }): EnrollmentToken {
  if (!(options.days > 0) || !Number.isFinite(options.days)) {
    throw new DhtError(
      'INVALID_ARGUMENT',
      `a token's validity must be a positive number of days, got ${options.days}`,
    );
  }
  const id = new Uint8Array(randomBytes(ENROLLMENT_TOKEN_ID_SIZE));
  const secret = new Uint8Array(randomBytes(ENROLLMENT_SECRET_SIZE));
  const text = Buffer.concat([id, secret]).toString('base64url');
  const expiresAt = (options.now ?? unixNow()) + Math.round(options.days * DAY);
  return Object.freeze({ id: toHex(id), secret, expiresAt, text });
}

/** The id and secret of a token's text; anything else is `WireError('BAD_VALUE')`. */
export function parseEnrollmentToken(text: string): { id: string; secret: Uint8Array } {
  const trimmed = text.trim();
  if (!TOKEN_TEXT.test(trimmed)) {
    throw new WireError('BAD_VALUE', 'an enrollment token is 64 base64url characters');
  }
  const octets = Buffer.from(trimmed, 'base64url');
  return {
    id: octets.subarray(0, ENROLLMENT_TOKEN_ID_SIZE).toString('hex'),
    secret: new Uint8Array(octets.subarray(ENROLLMENT_TOKEN_ID_SIZE)),
  };
}

function tokenIdOctets(tokenId: string): Buffer {
  if (!TOKEN_ID_HEX.test(tokenId)) {
    throw new DhtError(
      'INVALID_ARGUMENT',
      `a token id is ${ENROLLMENT_TOKEN_ID_SIZE} octets in lower-case hex`,
    );
  }
  return Buffer.from(tokenId, 'hex');
}

/**
 * HMAC-SHA256 keyed by the token's secret over `xpp-enroll v1` ‖ token id (16) ‖ public key (32): proves the
 * joiner holds the token, and binds the certificate it asks for to its own key (a proof for one key is worthless
 * for another).
 */
export function enrollmentProof(secret: Uint8Array, tokenId: string, publicKey: Uint8Array): Uint8Array {
  if (publicKey.length !== PEER_PUBLIC_KEY_SIZE) {
    throw new DhtError('INVALID_ARGUMENT', `an Ed25519 public key is ${PEER_PUBLIC_KEY_SIZE} octets`);
  }
  const mac = createHmac('sha256', secret).update(LABEL).update(tokenIdOctets(tokenId)).update(publicKey);
  return new Uint8Array(mac.digest());
}

/** True when `proof` is {@link enrollmentProof} of these inputs; compares in constant time. */
export function checkEnrollmentProof(
  secret: Uint8Array,
  tokenId: string,
  publicKey: Uint8Array,
  proof: Uint8Array,
): boolean {
  const expected = enrollmentProof(secret, tokenId, publicKey);
  // The length is public (always 32); only equal lengths reach the constant-time comparison.
  return proof.length === expected.length && timingSafeEqual(proof, expected);
}

/** An issued token as the administrator's node keeps it until used or expired. */
export interface IssuedEnrollmentToken {
  readonly id: string;
  readonly secret: Uint8Array;
  readonly expiresAt: number;
}

/**
 * The tokens the administrator's node has issued and not yet seen used: each redeems once, before it expires, and
 * only with a proof made from its secret for the key being certified.
 */
export class EnrollmentBook {
  readonly #tokens = new Map<string, IssuedEnrollmentToken>();

  /** `issued`: what a previous run kept (see {@link entries}). */
  constructor(issued: readonly IssuedEnrollmentToken[] = []) {
    for (const token of issued) this.#tokens.set(token.id, token);
  }

  /** A new token valid for `days` from `now` (Unix seconds). */
  issue(days: number, now: number): EnrollmentToken {
    this.prune(now);
    const token = createEnrollmentToken({ days, now });
    this.#tokens.set(token.id, { id: token.id, secret: token.secret, expiresAt: token.expiresAt });
    return token;
  }

  /**
   * Uses the token up if `proof` holds for `publicKey` at `now`; `ENROLLMENT_REFUSED` otherwise. A wrong proof does
   * not use the token up (a typo on the joining host must not cost a new invitation; guessing a 256-bit HMAC is not
   * a threat).
   */
  redeem(request: { tokenId: string; publicKey: Uint8Array; proof: Uint8Array }, now: number): void {
    const token = this.#tokens.get(request.tokenId);
    if (token === undefined) {
      throw new DhtError('ENROLLMENT_REFUSED', 'unknown or already used enrollment token');
    }
    if (now > token.expiresAt) {
      this.#tokens.delete(token.id);
      throw new DhtError('ENROLLMENT_REFUSED', `enrollment token ${token.id} expired at ${token.expiresAt}`);
    }
    if (!checkEnrollmentProof(token.secret, token.id, request.publicKey, request.proof)) {
      throw new DhtError('ENROLLMENT_REFUSED', `wrong proof for enrollment token ${token.id}`);
    }
    this.#tokens.delete(token.id);
  }

  /**
   * Opens again a token redeemed a moment ago whose enrollment then failed on the administrator's side (its
   * credential could not be stored): the joiner did nothing wrong and retries with the same token. Nothing is
   * issued for a token given back.
   */
  restore(token: IssuedEnrollmentToken): void {
    this.#tokens.set(token.id, token);
  }

  /** Forgets the tokens expired at `now`. */
  prune(now: number): void {
    for (const [id, token] of this.#tokens) if (now > token.expiresAt) this.#tokens.delete(id);
  }

  /** The tokens still open, for the administrator's node to keep across restarts. */
  entries(): IssuedEnrollmentToken[] {
    return [...this.#tokens.values()];
  }

  get size(): number {
    return this.#tokens.size;
  }
}
