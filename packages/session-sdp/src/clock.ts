/** An opaque handle of a scheduled timer. */
export type TimerHandle = { readonly __timer: unique symbol } | object;

/**
 * Time as the state machines see it. Injected so unit tests run on a manual clock without sleeping;
 * {@link systemClock} is the real one.
 */
export interface Clock {
  /** Milliseconds on a monotonic scale. */
  now(): number;
  /** Calls `callback` once after `ms` milliseconds. */
  setTimer(ms: number, callback: () => void): TimerHandle;
  cancelTimer(handle: TimerHandle): void;
}

/** `performance.now()` and Node timers; timers are unref'd so they never keep a process alive on their own. */
export const systemClock: Clock = {
  now: () => performance.now(),
  setTimer(ms, callback) {
    const timer = setTimeout(callback, ms);
    timer.unref();
    return timer;
  },
  cancelTimer(handle) {
    clearTimeout(handle as ReturnType<typeof setTimeout>);
  },
};
