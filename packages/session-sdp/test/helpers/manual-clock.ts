import type { Clock, TimerHandle } from '@xpp/session-sdp';

interface Scheduled {
  readonly at: number;
  readonly seq: number;
  readonly callback: () => void;
}

/** A clock that moves only when a test calls `advance`; timers fire in time order. */
export class ManualClock implements Clock {
  #now = 0;
  #seq = 0;
  readonly #timers = new Map<TimerHandle, Scheduled>();

  now(): number {
    return this.#now;
  }

  setTimer(callback: () => void, ms: number): TimerHandle {
    const handle = {};
    this.#timers.set(handle, { at: this.#now + ms, seq: this.#seq++, callback });
    return handle;
  }

  clearTimer(handle: TimerHandle): void {
    this.#timers.delete(handle);
  }

  get pending(): number {
    return this.#timers.size;
  }

  /** Moves time forward by `ms`, firing every timer due on the way. */
  advance(ms: number): void {
    const end = this.#now + ms;
    for (;;) {
      let next: [TimerHandle, Scheduled] | undefined;
      for (const entry of this.#timers) {
        if (
          entry[1].at <= end &&
          (next === undefined ||
            entry[1].at < next[1].at ||
            (entry[1].at === next[1].at && entry[1].seq < next[1].seq))
        ) {
          next = entry;
        }
      }
      if (next === undefined) break;
      this.#timers.delete(next[0]);
      this.#now = next[1].at;
      next[1].callback();
    }
    this.#now = end;
  }
}
