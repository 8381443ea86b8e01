/** Time source injected into every stateful part: tests drive a fake one, nodes pass `{ now: Date.now }`. */
export interface Clock {
  /** Milliseconds, monotonic enough for expiry (never decreasing). */
  now(): number;
}

/** The wall clock. */
export const systemClock: Clock = { now: () => Date.now() };
