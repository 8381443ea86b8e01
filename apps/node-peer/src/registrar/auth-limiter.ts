/** Back-off of failed digest answers per (AOR, source address) pair (spec xpp-pcan §6). */
export interface AuthLimits {
  /** Failures a pair may have before it waits. Default 5. */
  readonly freeFailures: number;
  /** The first wait, ms; each further failure doubles it. Default 1 000. */
  readonly backoffMs: number;
  /** Longest wait, ms. Default 300 000 (5 minutes). */
  readonly maxBackoffMs: number;
  /** A pair with no failure for this long is forgotten, ms. Default 900 000 (15 minutes). */
  readonly forgetAfterMs: number;
  /** Pairs tracked at most; the least recently failed is forgotten first. Default 100 000. */
  readonly maxPairs: number;
}

export const DEFAULT_AUTH_LIMITS: AuthLimits = Object.freeze({
  freeFailures: 5,
  backoffMs: 1_000,
  maxBackoffMs: 300_000,
  forgetAfterMs: 900_000,
  maxPairs: 100_000,
});

interface PairState {
  failures: number;
  /** Clock ms before which the pair's answers are not checked. */
  waitUntil: number;
  lastFailure: number;
}

/**
 * Counts failed digest answers per (AOR, source address) and makes a pair that failed too often wait, doubling the
 * wait at each further failure. Keyed by the pair, never by the AOR alone: failures from one address never make
 * another address wait, so nobody can lock a user out from elsewhere. Unknown AORs are keyed and limited exactly
 * like known ones (the caller passes the AOR as asked, whether it exists or not), so the limiter tells nothing
 * about which users exist. Bounded in pairs (a flood of names forgets the oldest pairs, not the newest); pure:
 * time comes in as arguments.
 */
export class AuthFailureLimiter {
  readonly #limits: AuthLimits;
  /** Map order is least recently failed first. */
  readonly #pairs = new Map<string, PairState>();

  constructor(limits: Partial<AuthLimits> = {}) {
    this.#limits = { ...DEFAULT_AUTH_LIMITS, ...limits };
  }

  get size(): number {
    return this.#pairs.size;
  }

  /** Ms the pair must still wait before an answer of its is checked; 0 when it may be checked now. */
  waitMs(aor: string, address: string, now: number): number {
    const state = this.#pairs.get(pairKey(aor, address));
    if (state === undefined) return 0;
    if (now - state.lastFailure > this.#limits.forgetAfterMs) {
      this.#pairs.delete(pairKey(aor, address));
      return 0;
    }
    return Math.max(0, state.waitUntil - now);
  }

  /** A wrong answer (or an unknown AOR) from the pair. */
  failed(aor: string, address: string, now: number): void {
    const key = pairKey(aor, address);
    const previous = this.#pairs.get(key);
    const fresh = previous === undefined || now - previous.lastFailure > this.#limits.forgetAfterMs;
    const failures = fresh ? 1 : previous.failures + 1;
    const over = failures - this.#limits.freeFailures;
    const wait =
      over <= 0
        ? 0
        : Math.min(this.#limits.maxBackoffMs, this.#limits.backoffMs * 2 ** Math.min(over - 1, 30));
    this.#pairs.delete(key);
    this.#pairs.set(key, { failures, waitUntil: now + wait, lastFailure: now });
    for (const oldest of this.#pairs.keys()) {
      if (this.#pairs.size <= this.#limits.maxPairs) break;
      this.#pairs.delete(oldest);
    }
  }

  /** A verified answer from the pair: its failures are forgotten. */
  succeeded(aor: string, address: string): void {
    this.#pairs.delete(pairKey(aor, address));
  }

  clear(): void {
    this.#pairs.clear();
  }
}

function pairKey(aor: string, address: string): string {
  return `${aor}\n${address}`;
}
