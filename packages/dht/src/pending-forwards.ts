import type { Clock } from './clock.js';
import { DhtError } from './errors.js';
import { MAX_HOP_LIMIT } from './limits.js';

export interface PendingForwardTableOptions {
  /** Monotonic time for the forwards' deadlines. */
  readonly clock: Pick<Clock, 'now'>;
  /** Entries at most; one more is `PENDING_FULL` (answered with 503). Default 4096. */
  readonly maxEntries?: number;
  /** Milliseconds before an unanswered forward times out (answered with 408). Default 10 000. */
  readonly timeoutMs?: number;
}

/** Defaults of the pending-forward table (README: "Bounds"). */
export const DEFAULT_PENDING_FORWARDS = Object.freeze({ maxEntries: 4096, timeoutMs: 10_000 });

interface Entry<T> {
  readonly value: T;
  readonly deadline: number;
}

/**
 * The ROUTE forwarding table of spec §3: for each request a peer forwarded, keyed by the operation number it
 * used downstream (`K`), where the response goes back (`T`, e.g. the upstream session and its operation number).
 * Bounded, and every entry times out after `timeoutMs`. Pure: the caller asks `expire()` when
 * `nextDeadline()` passes.
 */
export class PendingForwardTable<K, T> {
  readonly #clock: Pick<Clock, 'now'>;
  readonly #maxEntries: number;
  readonly #timeoutMs: number;
  // One timeout for all: insertion order is deadline order, so expiry only ever looks at the head.
  readonly #entries = new Map<K, Entry<T>>();

  constructor(options: PendingForwardTableOptions) {
    this.#clock = options.clock;
    this.#maxEntries = options.maxEntries ?? DEFAULT_PENDING_FORWARDS.maxEntries;
    this.#timeoutMs = options.timeoutMs ?? DEFAULT_PENDING_FORWARDS.timeoutMs;
    if (!Number.isSafeInteger(this.#maxEntries) || this.#maxEntries < 1) {
      throw new DhtError(
        'INVALID_ARGUMENT',
        `maxEntries must be a positive integer, got ${this.#maxEntries}`,
      );
    }
    if (!Number.isFinite(this.#timeoutMs) || this.#timeoutMs <= 0) {
      throw new DhtError('INVALID_ARGUMENT', `timeoutMs must be positive, got ${this.#timeoutMs}`);
    }
  }

  get size(): number {
    return this.#entries.size;
  }

  /**
   * Remembers where the response to the forward `key` goes. A full table is `PENDING_FULL` (timed-out entries
   * still count until `expire()` hands them over, so that none is dropped unanswered); a key already pending is
   * `INVALID_ARGUMENT` (operation numbers are unique in flight).
   */
  add(key: K, returnTo: T): void {
    if (this.#entries.has(key)) throw new DhtError('INVALID_ARGUMENT', 'this forward is already pending');
    if (this.#entries.size >= this.#maxEntries) {
      throw new DhtError(
        'PENDING_FULL',
        `${this.#entries.size} forwards pending (bound ${this.#maxEntries})`,
      );
    }
    this.#entries.set(key, { value: returnTo, deadline: this.#clock.now() + this.#timeoutMs });
  }

  /** Where the response to `key` goes, removing the entry; undefined when unknown or already timed out. */
  take(key: K): T | undefined {
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    this.#entries.delete(key);
    return entry.deadline > this.#clock.now() ? entry.value : undefined;
  }

  /** Removes and returns the forwards that timed out (the caller answers each upstream with 408). */
  expire(): { key: K; returnTo: T }[] {
    const now = this.#clock.now();
    const out: { key: K; returnTo: T }[] = [];
    for (const [key, entry] of this.#entries) {
      if (entry.deadline > now) break;
      this.#entries.delete(key);
      out.push({ key, returnTo: entry.value });
    }
    return out;
  }

  /** The clock time at which the oldest pending forward times out, or undefined when none is pending. */
  nextDeadline(): number | undefined {
    for (const entry of this.#entries.values()) return entry.deadline;
    return undefined;
  }
}

/**
 * The hop limit to forward a ROUTE with, at a peer that does not own the target: one less than received. A ROUTE
 * that arrives with 1 or 0 hops left cannot go further: `TOO_MANY_HOPS` (answered with 483).
 */
export function nextHopLimit(received: number): number {
  if (!Number.isInteger(received) || received < 0 || received > MAX_HOP_LIMIT) {
    throw new DhtError(
      'INVALID_ARGUMENT',
      `hop limit must be an integer in 0..${MAX_HOP_LIMIT}, got ${received}`,
    );
  }
  if (received <= 1)
    throw new DhtError('TOO_MANY_HOPS', 'ROUTE hop limit exhausted before reaching the owner');
  return received - 1;
}
