import type { Clock, TimerHandle } from '@xpp/reliability';
import type { OverlayNodeState } from './types.js';

/** What the settler needs of its node; the steps of a pass and of a refresh tick are the node's. */
export interface SettlerContext {
  readonly clock: Clock;
  /** Delay that gathers changes before a pass, ms. */
  readonly settleDelay: number;
  /** Period of the refresh tick, ms. */
  readonly refreshInterval: number;
  state(): OverlayNodeState;
  /** One pass: re-announce, re-replicate, merge. False when the node stopped being a peer in the middle of it. */
  pass(): Promise<boolean>;
  /** The periodic refresh's own work, before it asks for a routine pass. */
  tick(): void;
  /** A pass threw. */
  failed(): void;
}

/**
 * Gathers the changes that call for a settle pass into one pass at a time (a change during a pass runs it again),
 * runs the periodic refresh, and knows whether every change so far has been settled. Every other part only asks
 * for a pass (`request`).
 */
export class Settler {
  readonly #ctx: SettlerContext;
  #settleTimer: TimerHandle | undefined;
  #refreshTimer: TimerHandle | undefined;
  /** Routine passes asked for later (after a takeover's detection window), each with its handle. */
  readonly #later = new Set<TimerHandle>();
  #settling = false;
  #again = false;
  /** Changes that asked for a settle pass, and how many of them the last finished pass covered. */
  #changes = 0;
  #settledChanges = 0;

  constructor(ctx: SettlerContext) {
    this.#ctx = ctx;
  }

  /** A pass is scheduled or running. */
  get busy(): boolean {
    return this.#settleTimer !== undefined || this.#settling;
  }

  /** Every change asked for so far has been covered by a finished pass. */
  get settled(): boolean {
    return this.#settledChanges === this.#changes;
  }

  /** `routine`: the periodic refresh, which leaves `settled` alone (nothing changed). */
  request(delay = this.#ctx.settleDelay, routine = false): void {
    if (!routine) this.#changes++;
    if (this.#settleTimer !== undefined || this.#ctx.state() !== 'peer') return;
    this.#settleTimer = this.#ctx.clock.setTimer(() => {
      this.#settleTimer = undefined;
      void this.#settle();
    }, delay);
  }

  /** A routine pass in `after` ms (a timer that `stop` clears). */
  requestLater(after: number): void {
    const handle = this.#ctx.clock.setTimer(() => {
      this.#later.delete(handle);
      this.request(this.#ctx.settleDelay, true);
    }, after);
    this.#later.add(handle);
  }

  /** Starts the periodic refresh (once). */
  startRefresh(): void {
    if (this.#refreshTimer !== undefined) return;
    const tick = () => {
      this.#refreshTimer = undefined;
      if (this.#ctx.state() !== 'peer') return;
      this.#ctx.tick();
      this.request(0, true);
      this.#refreshTimer = this.#ctx.clock.setTimer(tick, this.#ctx.refreshInterval);
    };
    this.#refreshTimer = this.#ctx.clock.setTimer(tick, this.#ctx.refreshInterval);
  }

  /** Clears every timer (the node closes). */
  stop(): void {
    for (const timer of [this.#settleTimer, this.#refreshTimer, ...this.#later])
      if (timer !== undefined) this.#ctx.clock.clearTimer(timer);
    this.#settleTimer = this.#refreshTimer = undefined;
    this.#later.clear();
  }

  async #settle(): Promise<void> {
    if (this.#settling) {
      this.#again = true;
      return;
    }
    this.#settling = true;
    try {
      do {
        this.#again = false;
        if (this.#ctx.state() !== 'peer') return;
        const changes = this.#changes;
        if (!(await this.#ctx.pass())) return;
        this.#settledChanges = changes;
      } while (this.#again);
    } catch {
      this.#ctx.failed();
    } finally {
      this.#settling = false;
    }
  }
}
