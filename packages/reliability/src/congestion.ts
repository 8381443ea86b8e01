import { Defaults } from './constants.js';

export interface CongestionOptions {
  /** Initial window in fragments. Default 10. */
  readonly initialWindow?: number;
  /** Largest window ever allowed, in fragments (the peer's reassembly bound). */
  readonly maxWindow: number;
}

/**
 * The congestion window of spec §5.2 (RFC 5681 in fragments): slow start up to `ssthresh`, then one more
 * fragment per window acknowledged (additive increase); halve on a loss found by later ACKs (at most once
 * per window of data); back to 1 after a timeout.
 */
export class CongestionWindow {
  readonly maxWindow: number;
  #cwnd: number;
  #ssthresh: number;
  #acc = 0;

  constructor(options: CongestionOptions) {
    this.maxWindow = options.maxWindow;
    this.#cwnd = Math.min(options.initialWindow ?? Defaults.initialWindow, this.maxWindow);
    this.#ssthresh = this.maxWindow;
  }

  /** Fragments that may be in flight. */
  get window(): number {
    return this.#cwnd;
  }

  get ssthresh(): number {
    return this.#ssthresh;
  }

  /** One fragment newly acknowledged. */
  onAck(): void {
    if (this.#cwnd >= this.maxWindow) return;
    if (this.#cwnd < this.#ssthresh) {
      this.#cwnd++;
      return;
    }
    this.#acc++;
    if (this.#acc >= this.#cwnd) {
      this.#acc = 0;
      this.#cwnd++;
    }
  }

  /** A loss detected by later ACKs: multiplicative decrease. */
  onLoss(): void {
    this.#ssthresh = Math.max(Math.floor(this.#cwnd / 2), 2);
    this.#cwnd = this.#ssthresh;
    this.#acc = 0;
  }

  /** The retransmission timer expired with `inFlight` fragments outstanding. */
  onTimeout(inFlight: number): void {
    this.#ssthresh = Math.max(Math.floor(Math.max(inFlight, this.#cwnd) / 2), 2);
    this.#cwnd = 1;
    this.#acc = 0;
  }
}
