import type { Clock, TimerHandle } from '@xpp/reliability';
import type { XppCall } from '@xpp/session-sdp';
import { remember } from './neighbour-table.js';

/** A caller admitted on probation: its call once accepted, and whether its own announcement admitted it. */
export interface ProbationEntry {
  call: XppCall | undefined;
  admitted: boolean;
}

export interface ProbationOptions {
  /** Callers on probation at once. */
  readonly capacity: number;
  /** Refused callers remembered (oldest forgotten first). */
  readonly maxRefused: number;
  /** How long a caller has to show it abuts this node, ms. */
  readonly timeout: number;
}

/**
 * Callers admitted on probation: a peer that knows this node as a neighbour before this node knows it may call
 * twice; the second call is accepted, and its first NEIGHBOUR-UPDATE must show zones abutting this node's. Keeps
 * the callers refused once (a second call gets probation) and the probations running, each ended by a timer.
 */
export class Probation {
  readonly #clock: Clock;
  readonly #options: ProbationOptions;
  /** Callers refused because this node did not know them, by id (oldest first). */
  readonly #refused = new Map<string, true>();
  readonly #entries = new Map<string, { readonly entry: ProbationEntry; readonly timer: TimerHandle }>();

  constructor(clock: Clock, options: ProbationOptions) {
    this.#clock = clock;
    this.#options = options;
  }

  /**
   * Puts `caller` on probation when it was refused once before and there is room, and returns its entry; remembers
   * it as refused otherwise. `onExpire` runs when the probation is still on after the timeout (it is then over).
   */
  begin(caller: string, onExpire: (entry: ProbationEntry) => void): ProbationEntry | undefined {
    if (
      !this.#refused.delete(caller) ||
      this.#entries.has(caller) ||
      this.#entries.size >= this.#options.capacity
    ) {
      remember(this.#refused, caller, true, this.#options.maxRefused);
      return undefined;
    }
    const entry: ProbationEntry = { call: undefined, admitted: false };
    const timer = this.#clock.setTimer(() => {
      if (!this.holds(caller, entry)) return;
      this.#entries.delete(caller);
      onExpire(entry);
    }, this.#options.timeout);
    this.#entries.set(caller, { entry, timer });
    return entry;
  }

  /** The probation `caller` is on, if any. */
  get(caller: string): ProbationEntry | undefined {
    return this.#entries.get(caller)?.entry;
  }

  /** Whether `entry` is still the probation of `caller` (not ended). */
  holds(caller: string, entry: ProbationEntry): boolean {
    return this.#entries.get(caller)?.entry === entry;
  }

  /** Ends the probation of `caller` (admitted, refused or failed), stopping its timer. */
  end(caller: string): void {
    const running = this.#entries.get(caller);
    if (running === undefined) return;
    this.#entries.delete(caller);
    this.#clock.clearTimer(running.timer);
  }

  /** Ends every probation (the node closes). */
  clear(): void {
    for (const { timer } of this.#entries.values()) this.#clock.clearTimer(timer);
    this.#entries.clear();
  }
}
