import type { SipResponse } from '@xpp/session-sdp';

/** Answered REGISTERs remembered for their retransmissions. Default {@link DEFAULT_MAX_ANSWERED}. */
export const DEFAULT_MAX_ANSWERED = 16_384;

/**
 * The final responses of REGISTERs whose server transactions were dropped once answered: a retransmission (its
 * 200 was lost) gets the same response again, as the transaction would have sent it (RFC 3261 §17.2.2), at a few
 * hundred octets per entry instead of a transaction and its Timer J. Bounded in entries (least recent forgotten:
 * a retransmission after that is processed again, and its replayed nonce count is challenged) and in time.
 */
export class AnsweredRegisters {
  readonly #max: number;
  readonly #ttl: number;
  readonly #entries = new Map<string, { response: SipResponse; at: number }>();

  /** `ttlMs`: how long retransmissions may come (Timer J, 64×T1). */
  constructor(ttlMs: number, max = DEFAULT_MAX_ANSWERED) {
    this.#ttl = ttlMs;
    this.#max = max;
  }

  get size(): number {
    return this.#entries.size;
  }

  get(key: string, now: number): SipResponse | undefined {
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    if (now - entry.at > this.#ttl) {
      this.#entries.delete(key);
      return undefined;
    }
    return entry.response;
  }

  set(key: string, response: SipResponse, now: number): void {
    this.#entries.delete(key);
    this.#entries.set(key, { response, at: now });
    for (const [oldest, entry] of this.#entries) {
      if (this.#entries.size <= this.#max && now - entry.at <= this.#ttl) break;
      this.#entries.delete(oldest);
    }
  }

  clear(): void {
    this.#entries.clear();
  }
}
