/** An armed timer, opaque to its user: only given back to {@link Clock.clearTimer}. */
export type TimerHandle = object | number;

/**
 * Time and timers, injected into every state machine of every XPP package so that tests run on one fake clock
 * without sleeping and simulations run thousands of sessions in one process. Two time bases, because they answer
 * different questions: {@link now} measures durations (timers, RTO, timeouts) and never jumps; {@link wallNow}
 * names a moment other processes (or this one after a restart) can read (certificate validity, persisted expiry).
 */
export interface Clock {
  /** Monotonic milliseconds (never decreasing, origin unspecified): durations and deadlines within this process. */
  now(): number;
  /** Unix milliseconds: for times that are exchanged or outlive the process. */
  wallNow(): number;
  /**
   * Calls `callback` once after `delayMs` of {@link now} time. A delay of 0 means "after the I/O already received
   * in this turn" (Node's `setImmediate`): how ACKs for a burst of datagrams are batched into one.
   */
  setTimer(callback: () => void, delayMs: number): TimerHandle;
  clearTimer(handle: TimerHandle): void;
}

class Immediate {
  constructor(readonly immediate: NodeJS.Immediate) {}
}

/**
 * The real clock. Monotonic time is `performance.now()` from the process start's wall time
 * (`performance.timeOrigin`): it reads like Unix milliseconds, so logs and nonces stay legible, yet never
 * follows a system clock step (NTP, a manual change), so deadlines and in-memory expiries neither fire early nor
 * late. Wall time is the system's own `Date.now()`, what other machines and a restarted process agree on.
 * Node timers (which do not keep the process alive); `setImmediate` for a delay of 0.
 */
export const systemClock: Clock = {
  now: () => performance.timeOrigin + performance.now(),
  wallNow: () => Date.now(),
  setTimer(callback, delayMs) {
    if (delayMs <= 0) return new Immediate(setImmediate(callback));
    const timer = setTimeout(callback, delayMs);
    timer.unref();
    return timer;
  },
  clearTimer(handle) {
    if (handle instanceof Immediate) clearImmediate(handle.immediate);
    else clearTimeout(handle as NodeJS.Timeout);
  },
};
