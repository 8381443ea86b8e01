/** An armed timer, opaque to its user: only given back to {@link Clock.clearTimer}. */
export type TimerHandle = object | number;

/**
 * Time and timers, injected into every state machine so that tests run on a fake clock without sleeping and
 * simulations run thousands of sessions in one process.
 */
export interface Clock {
  /** Monotonic milliseconds. */
  now(): number;
  /**
   * Calls `callback` once after `delayMs`. A delay of 0 means "after the I/O already received in this turn"
   * (Node's `setImmediate`): how ACKs for a burst of datagrams are batched into one.
   */
  setTimer(callback: () => void, delayMs: number): TimerHandle;
  clearTimer(handle: TimerHandle): void;
}

class Immediate {
  constructor(readonly immediate: NodeJS.Immediate) {}
}

/** The real clock: `performance.now()`, Node timers, `setImmediate` for a delay of 0. Timers do not keep the process alive. */
export const systemClock: Clock = {
  now: () => performance.now(),
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
