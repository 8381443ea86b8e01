/** Time source injected into every stateful part: tests drive a fake one, nodes pass {@link systemClock}. */
export interface Clock {
  /** Milliseconds, never decreasing (expiry and timeouts compare against it). */
  now(): number;
}

/**
 * Wall-clock milliseconds that never go backwards: the process start time plus a monotonic offset, so that a
 * system clock step (NTP, manual change) neither expires records early nor keeps them late.
 */
export const systemClock: Clock = { now: () => performance.timeOrigin + performance.now() };
