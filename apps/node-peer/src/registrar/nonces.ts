import { createHmac, createSecretKey, randomBytes, timingSafeEqual, type KeyObject } from 'node:crypto';
import { randomPool } from '../sip/random-pool.js';

export interface NonceOptions {
  /** How long a nonce may be used, ms. Default 300 000 (5 minutes). */
  readonly lifetime?: number;
  /** Nonces whose counts are remembered for replay protection; the oldest are forgotten first. Default 100 000. */
  readonly maxTracked?: number;
  /** Monotonic-enough wall clock in ms. Default `Date.now`. */
  readonly now?: () => number;
  /** HMAC key; default random per process (nonces do not survive a restart, clients are re-challenged). */
  readonly secret?: Uint8Array;
}

/** Why a nonce was not accepted: `stale` gets a fresh challenge with `stale=true` (RFC 7616 §3.3). */
export type NonceVerdict = 'ok' | 'stale' | 'invalid' | 'replayed';

const STAMP = 8;
const SALT = 8;
const MAC = 16;

/**
 * Stateless, self-authenticating nonces (time stamp ‖ salt ‖ HMAC), so any number of challenges costs no memory;
 * memory is spent only on nonces a client actually used, to refuse a replayed or non-increasing nonce count. That
 * table is bounded, and a nonce it forgot is treated as stale, never as fresh.
 */
export class NonceIssuer {
  readonly #lifetime: number;
  readonly #maxTracked: number;
  readonly #now: () => number;
  readonly #key: KeyObject;
  /** nonce → highest nonce count seen and when it was issued; Map order is least recently used first. */
  readonly #counts = new Map<string, { count: number; issuedAt: number }>();
  /** Latest issue time of any nonce forgotten from the table: an untracked nonce not newer may have been used. */
  #forgottenUpTo = -Infinity;

  constructor(options: NonceOptions = {}) {
    this.#lifetime = options.lifetime ?? 300_000;
    this.#maxTracked = options.maxTracked ?? 100_000;
    this.#now = options.now ?? Date.now;
    this.#key = createSecretKey(options.secret ?? randomBytes(32));
  }

  issue(): string {
    const body = Buffer.alloc(STAMP + SALT);
    body.writeBigUInt64BE(BigInt(Math.floor(this.#now())), 0);
    randomPool.fill(body, STAMP, SALT);
    return Buffer.concat([body, this.#mac(body)]).toString('base64url');
  }

  /** Checks a nonce and its count (`nc`, 8 hex digits) from a client's credentials and records the count. */
  verify(nonce: string, nc: string | undefined): NonceVerdict {
    if (nonce.length > 64) return 'invalid';
    const raw = Buffer.from(nonce, 'base64url');
    if (raw.length !== STAMP + SALT + MAC || raw.toString('base64url') !== nonce) return 'invalid';
    const body = raw.subarray(0, STAMP + SALT);
    if (!timingSafeEqual(raw.subarray(STAMP + SALT), this.#mac(body))) return 'invalid';
    const issuedAt = Number(body.readBigUInt64BE(0));
    const age = this.#now() - issuedAt;
    if (age < 0 || age > this.#lifetime) return 'stale';
    if (nc === undefined || !/^[0-9a-fA-F]{8}$/.test(nc)) return 'invalid';
    const count = parseInt(nc, 16);
    const seen = this.#counts.get(nonce);
    if (seen === undefined) {
      // Possibly used before and forgotten: make the client start afresh rather than risk a replay.
      if (issuedAt <= this.#forgottenUpTo) return 'stale';
    } else if (count <= seen.count) {
      return 'replayed';
    }
    this.#counts.delete(nonce);
    this.#counts.set(nonce, { count, issuedAt });
    for (const [oldest, entry] of this.#counts) {
      if (this.#counts.size <= this.#maxTracked) break;
      this.#counts.delete(oldest);
      this.#forgottenUpTo = Math.max(this.#forgottenUpTo, entry.issuedAt);
    }
    return 'ok';
  }

  /** Nonces currently tracked for replay protection. */
  get tracked(): number {
    return this.#counts.size;
  }

  #mac(body: Uint8Array): Buffer {
    return createHmac('sha256', this.#key).update(body).digest().subarray(0, MAC);
  }
}
