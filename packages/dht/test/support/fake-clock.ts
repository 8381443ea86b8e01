import type { Clock } from '@xpp/dht';

/** A clock the test moves by hand. */
export class FakeClock implements Clock {
  #now: number;

  constructor(start = 1_000_000) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  advance(ms: number): void {
    this.#now += ms;
  }
}
