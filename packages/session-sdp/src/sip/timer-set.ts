import type { Clock, TimerHandle } from '@xpp/reliability';

/** RFC 3261 timer base values in ms (Table 4). */
export interface SipTimerValues {
  /** RTT estimate, 500 ms. */
  readonly T1: number;
  /** Maximum retransmit interval for non-INVITE requests and INVITE responses, 4 s. */
  readonly T2: number;
  /** Maximum duration a message remains in the network, 5 s. */
  readonly T4: number;
}

export const DEFAULT_SIP_TIMERS: SipTimerValues = { T1: 500, T2: 4_000, T4: 5_000 };

/** The timers of RFC 3261 §17 by letter, and RFC 6026's Timer L (the INVITE server transaction's Accepted state). */
export type SipTimerName = 'A' | 'B' | 'D' | 'E' | 'F' | 'G' | 'H' | 'I' | 'J' | 'K' | 'L';

/** The named timers of one state machine: at most one per name, all cancelled together at the end. */
export class TimerSet<Name extends string> {
  readonly #clock: Clock;
  readonly #fire: (name: Name) => void;
  readonly #timers = new Map<Name, TimerHandle>();

  constructor(clock: Clock, fire: (name: Name) => void) {
    this.#clock = clock;
    this.#fire = fire;
  }

  /** (Re)starts `name`; a running one is replaced. */
  start(name: Name, ms: number): void {
    this.cancel(name);
    this.#timers.set(
      name,
      this.#clock.setTimer(() => {
        this.#timers.delete(name);
        this.#fire(name);
      }, ms),
    );
  }

  cancel(name: Name): void {
    const handle = this.#timers.get(name);
    if (handle === undefined) return;
    this.#clock.clearTimer(handle);
    this.#timers.delete(name);
  }

  cancelAll(): void {
    for (const name of [...this.#timers.keys()]) this.cancel(name);
  }

  get size(): number {
    return this.#timers.size;
  }
}
