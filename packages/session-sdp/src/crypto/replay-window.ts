import { SessionError } from '../errors.js';

/** Default width of the replay window in counters. */
export const DEFAULT_REPLAY_WINDOW = 1_024;
/** Widest replay window allowed. */
export const MAX_REPLAY_WINDOW = 65_536;

/**
 * Sliding anti-replay window over explicit counters (the RFC 4303 §3.4.3 scheme): counters above the highest
 * seen are new; those within `size` below it are new once; older ones are refused. {@link check} never changes
 * state, so a fragment is checked before authentication and {@link accept}ed only after it.
 */
export class ReplayWindow {
  readonly size: number;
  readonly #bits: Uint32Array;
  #top = -1;

  constructor(size = DEFAULT_REPLAY_WINDOW) {
    if (!Number.isInteger(size) || size < 32 || size > MAX_REPLAY_WINDOW || size % 32 !== 0) {
      throw new SessionError(
        'INVALID_ARGUMENT',
        `replay window ${size} is not a multiple of 32 in 32-${MAX_REPLAY_WINDOW}`,
      );
    }
    this.size = size;
    this.#bits = new Uint32Array(size / 32);
  }

  /** Highest accepted counter, -1 before any. */
  get highest(): number {
    return this.#top;
  }

  /** True when `counter` would be accepted now. */
  check(counter: number): boolean {
    if (counter > this.#top) return true;
    if (this.#top - counter >= this.size) return false;
    return !this.#get(counter);
  }

  /** Marks `counter` seen; returns false (and changes nothing) if {@link check} would have refused it. */
  accept(counter: number): boolean {
    if (!this.check(counter)) return false;
    if (counter > this.#top) {
      const advance = counter - this.#top;
      if (advance >= this.size) this.#bits.fill(0);
      else for (let c = this.#top + 1; c <= counter; c++) this.#set(c, false);
      this.#top = counter;
    }
    this.#set(counter, true);
    return true;
  }

  #get(counter: number): boolean {
    const bit = counter % this.size;
    return ((this.#bits[bit >>> 5] ?? 0) & (1 << (bit & 31))) !== 0;
  }

  #set(counter: number, on: boolean): void {
    const bit = counter % this.size;
    const word = bit >>> 5;
    const mask = 1 << (bit & 31);
    const current = this.#bits[word] ?? 0;
    this.#bits[word] = on ? current | mask : current & ~mask;
  }
}
