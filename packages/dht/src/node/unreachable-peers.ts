import type { Clock } from '@xpp/reliability';
import { remember } from './neighbour-table.js';

/**
 * Peers this node failed to call, by id, with until when relayed announcements of them are ignored: such a peer may
 * be dead without this node ever having had a session to notice it. Its own announcements are still believed, and
 * it can still call in. Bounded: the oldest entry goes first.
 */
export class UnreachablePeers {
  readonly #until = new Map<string, number>();
  readonly #clock: Clock;
  readonly #hold: number;
  readonly #max: number;

  /** `hold`: how long relayed views of a peer are ignored, ms; `max`: peers remembered. */
  constructor(clock: Clock, hold: number, max: number) {
    this.#clock = clock;
    this.#hold = hold;
    this.#max = max;
  }

  /** Relayed views of `id` are ignored for the hold time from now. */
  mark(id: string): void {
    remember(this.#until, id, this.#clock.now() + this.#hold, this.#max);
  }

  has(id: string): boolean {
    const until = this.#until.get(id);
    if (until === undefined) return false;
    if (until > this.#clock.now()) return true;
    this.#until.delete(id);
    return false;
  }
}
