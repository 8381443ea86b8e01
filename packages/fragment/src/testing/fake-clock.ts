import type { Clock, TimerHandle } from '../clock.js';

interface Timer {
  readonly at: number;
  readonly order: number;
  readonly callback: () => void;
  cancelled: boolean;
}

/** The wall time a {@link FakeClock} starts at unless told: 2026-01-01T00:00:00Z, fixed so runs repeat. */
export const FAKE_WALL_START = Date.UTC(2026, 0, 1);

/**
 * A {@link Clock} that moves only when told: tests run protocol timers (seconds of RTO backoff, keepalives) and
 * expiries without sleeping. {@link advance} moves monotonic and wall time together; {@link stepWall} moves
 * wall time alone, as an NTP step does. Timers fire in time order, ties in the order they were set; a timer set
 * while advancing fires in the same call if it falls due.
 */
export class FakeClock implements Clock {
  #now: number;
  #wallOffset: number;
  #order = 0;
  #heap: Timer[] = [];
  #live = 0;

  /** `start`: the first {@link now}; `wallStart`: the first {@link wallNow}, Unix ms. */
  constructor(start = 0, wallStart = FAKE_WALL_START) {
    this.#now = start;
    this.#wallOffset = wallStart - start;
  }

  now(): number {
    return this.#now;
  }

  wallNow(): number {
    return this.#now + this.#wallOffset;
  }

  /** Moves wall time alone by `ms` (either way), firing nothing: a system clock step. */
  stepWall(ms: number): void {
    this.#wallOffset += ms;
  }

  setTimer(callback: () => void, delayMs: number): TimerHandle {
    const timer: Timer = {
      at: this.#now + Math.max(delayMs, 0),
      order: this.#order++,
      callback,
      cancelled: false,
    };
    this.#push(timer);
    this.#live++;
    return timer;
  }

  clearTimer(handle: TimerHandle): void {
    const timer = handle as Timer;
    if (!timer.cancelled) {
      timer.cancelled = true;
      this.#live--;
    }
  }

  /** Timers armed and not yet fired or cleared. */
  get pending(): number {
    return this.#live;
  }

  /** When the next timer is due, or undefined. */
  next(): number | undefined {
    this.#dropCancelled();
    return this.#heap[0]?.at;
  }

  /** Moves time forward by `ms`, firing every timer that falls due on the way. */
  advance(ms: number): void {
    const end = this.#now + ms;
    for (;;) {
      this.#dropCancelled();
      const top = this.#heap[0];
      if (top === undefined || top.at > end) break;
      this.#pop();
      this.#now = Math.max(this.#now, top.at);
      top.cancelled = true;
      this.#live--;
      top.callback();
    }
    this.#now = end;
  }

  /** Fires timers until none is left or `limitMs` of fake time has passed; returns the time advanced. */
  run(limitMs = Number.POSITIVE_INFINITY): number {
    const start = this.#now;
    for (;;) {
      const at = this.next();
      if (at === undefined || at - start > limitMs) break;
      this.advance(at - this.#now);
    }
    return this.#now - start;
  }

  #dropCancelled(): void {
    while (this.#heap[0]?.cancelled === true) this.#pop();
  }

  #less(a: Timer, b: Timer): boolean {
    return a.at < b.at || (a.at === b.at && a.order < b.order);
  }

  #push(timer: Timer): void {
    const heap = this.#heap;
    heap.push(timer);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.#less(heap[i] as Timer, heap[parent] as Timer)) break;
      [heap[i], heap[parent]] = [heap[parent] as Timer, heap[i] as Timer];
      i = parent;
    }
  }

  #pop(): void {
    const heap = this.#heap;
    const last = heap.pop();
    if (last === undefined || heap.length === 0) return;
    heap[0] = last;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < heap.length && this.#less(heap[l] as Timer, heap[m] as Timer)) m = l;
      if (r < heap.length && this.#less(heap[r] as Timer, heap[m] as Timer)) m = r;
      if (m === i) break;
      [heap[i], heap[m]] = [heap[m] as Timer, heap[i] as Timer];
      i = m;
    }
  }
}
