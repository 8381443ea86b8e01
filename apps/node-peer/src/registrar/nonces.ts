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
 *
 * A nonce may be bound to the source address it was issued to (the HMAC covers it): a nonce seen on the wire is
 * then useless from any other host. The port is left out on purpose: a NAT may rebind it between the challenge
 * and the answer.
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

  /** A fresh nonce, bound to `address` (the client's source IP) when given. */
  issue(address?: string): string {
    const body = Buffer.alloc(STAMP + SALT);
    body.writeBigUInt64BE(BigInt(Math.floor(this.#now())), 0);
    randomPool.fill(body, STAMP, SALT);
    return Buffer.concat([body, this.#mac(body, address)]).toString('base64url');
  }

  /**
   * Checks a nonce (issued to `address`, if it was bound) and its count (`nc`, 8 hex digits) without recording
   * anything: the count is recorded with {@link record} only once the response it came with verified, so that a
   * wrong response cannot use up a client's counts.
   */
  check(nonce: string, nc: string | undefined, address?: string): NonceVerdict {
    if (nonce.length > 64) return 'invalid';
    const raw = Buffer.from(nonce, 'base64url');
    if (raw.length !== STAMP + SALT + MAC || raw.toString('base64url') !== nonce) return 'invalid';
    const body = raw.subarray(0, STAMP + SALT);
    if (!timingSafeEqual(raw.subarray(STAMP + SALT), this.#mac(body, address))) return 'invalid';
    const issuedAt = Number(body.readBigUInt64BE(0));
    const age = this.#now() - issuedAt;
    if (age < 0 || age > this.#lifetime) return 'stale';
    if (nc === undefined || !/^[0-9a-fA-F]{8}$/.test(nc)) return 'invalid';
    return this.#countVerdict(nonce, parseInt(nc, 16), issuedAt);
  }

  /**
   * Records the count of a nonce that {@link check} accepted and whose response verified. Returns `replayed` (or
   * `stale`) when a concurrent request with the same count was recorded first, so exactly one of them succeeds.
   */
  record(nonce: string, nc: string): NonceVerdict {
    const raw = Buffer.from(nonce, 'base64url');
    const issuedAt = Number(raw.readBigUInt64BE(0));
    const count = parseInt(nc, 16);
    const verdict = this.#countVerdict(nonce, count, issuedAt);
    if (verdict !== 'ok') return verdict;
    this.#counts.delete(nonce);
    this.#counts.set(nonce, { count, issuedAt });
    for (const [oldest, entry] of this.#counts) {
      if (this.#counts.size <= this.#maxTracked) break;
      this.#counts.delete(oldest);
      this.#forgottenUpTo = Math.max(this.#forgottenUpTo, entry.issuedAt);
    }
    return 'ok';
  }

  /** {@link check} then {@link record}: for callers that have no response to verify in between. */
  verify(nonce: string, nc: string | undefined, address?: string): NonceVerdict {
    const verdict = this.check(nonce, nc, address);
    return verdict === 'ok' ? this.record(nonce, nc as string) : verdict;
  }

  #countVerdict(nonce: string, count: number, issuedAt: number): NonceVerdict {
    const seen = this.#counts.get(nonce);
    // Possibly used before and forgotten: make the client start afresh rather than risk a replay.
    if (seen === undefined) return issuedAt <= this.#forgottenUpTo ? 'stale' : 'ok';
    return count <= seen.count ? 'replayed' : 'ok';
  }

  /** Nonces currently tracked for replay protection. */
  get tracked(): number {
    return this.#counts.size;
  }

  #mac(body: Uint8Array, address: string | undefined): Buffer {
    const hmac = createHmac('sha256', this.#key).update(body);
    // Unbound nonces MAC the body alone; a bound one adds a separator no address contains, then the address.
    if (address !== undefined) hmac.update(`\n${address}`);
    return hmac.digest().subarray(0, MAC);
  }
}
