/** An armed timer, opaque to its user: only given back to {@link Clock.clearTimer}. */
export type TimerHandle = object | number;

/**
 * Time as the state machines see it. Injected so unit tests run on a manual clock without sleeping;
 * {@link systemClock} is the real one. The shape is the one `@xpp/reliability` uses, so one clock drives a
 * whole endpoint (SIP, sessions, reliability).
 */
export interface Clock {
  /** Monotonic milliseconds. */
  now(): number;
  /** Calls `callback` once after `delayMs` milliseconds. */
  setTimer(callback: () => void, delayMs: number): TimerHandle;
  clearTimer(handle: TimerHandle): void;
}

/** `performance.now()` and Node timers; timers are unref'd so they never keep a process alive on their own. */
export const systemClock: Clock = {
  now: () => performance.now(),
  setTimer(callback, delayMs) {
    const timer = setTimeout(callback, delayMs);
    timer.unref();
    return timer;
  },
  clearTimer(handle) {
    clearTimeout(handle as ReturnType<typeof setTimeout>);
  },
};
