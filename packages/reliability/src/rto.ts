import { Defaults } from './constants.js';

export interface RtoOptions {
  /** RTO before the first sample. Default 500 ms (T1). */
  readonly initialRto?: number;
  /** Floor of a computed RTO. Default 200 ms. */
  readonly minRto?: number;
  /** Ceiling of a computed or backed-off RTO. Default 4 s (T2). */
  readonly maxRto?: number;
  /** Clock granularity G of RFC 6298. Default 1 ms. */
  readonly granularity?: number;
}

const ALPHA = 1 / 8;
const BETA = 1 / 4;
const K = 4;

/**
 * The retransmission timeout of RFC 6298: SRTT and RTTVAR from samples (§2), exponential backoff on expiry
 * (§5.5) bounded by T2. Karn's rule (§3: no sample from a retransmitted fragment) is the caller's, which knows
 * what was retransmitted; a valid sample also ends the backoff.
 */
export class RtoEstimator {
  readonly minRto: number;
  readonly maxRto: number;
  readonly granularity: number;
  #srtt: number | undefined;
  #rttvar = 0;
  #base: number;
  #backoff = 1;

  constructor(options: RtoOptions = {}) {
    this.minRto = options.minRto ?? Defaults.minRto;
    this.maxRto = options.maxRto ?? Defaults.maxRto;
    this.granularity = options.granularity ?? 1;
    this.#base = options.initialRto ?? Defaults.initialRto;
  }

  /** Smoothed RTT, undefined before the first sample. */
  get srtt(): number | undefined {
    return this.#srtt;
  }

  get rttvar(): number {
    return this.#rttvar;
  }

  /** The current timeout, backoff included. */
  get rto(): number {
    return Math.min(this.#base * this.#backoff, this.maxRto);
  }

  /** Takes one round-trip measurement of a fragment sent once (RFC 6298 §2.2, §2.3). */
  sample(rtt: number): void {
    const r = Math.max(rtt, 0);
    if (this.#srtt === undefined) {
      this.#srtt = r;
      this.#rttvar = r / 2;
    } else {
      this.#rttvar = (1 - BETA) * this.#rttvar + BETA * Math.abs(this.#srtt - r);
      this.#srtt = (1 - ALPHA) * this.#srtt + ALPHA * r;
    }
    const rto = this.#srtt + Math.max(this.granularity, K * this.#rttvar);
    this.#base = Math.min(Math.max(rto, this.minRto), this.maxRto);
    this.#backoff = 1;
  }

  /** The timer expired: double the timeout, up to the ceiling (RFC 6298 §5.5). */
  backoff(): void {
    if (this.#base * this.#backoff < this.maxRto) this.#backoff *= 2;
  }
}
