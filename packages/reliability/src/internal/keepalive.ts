import type { FragmentError } from '@xpp/fragment';
import type { Clock, TimerHandle } from '../clock.js';
import { ReliabilityError } from '../errors.js';

/** What keepalive and the partial-message check need from their channel. */
export interface KeepaliveContext {
  readonly clock: Clock;
  /** Silence after which a keepalive goes out, ms (spec §5.3). */
  readonly interval: number;
  /** Keepalives in a row without an answer before the peer is declared dead. */
  readonly misses: number;
  /** Sends one KPA datagram. */
  sendKeepalive(): void;
  /** When the oldest partial message times out, if one is held. */
  partialDeadline(): number | undefined;
  /** The partial message that waited too long, if any. */
  partialTimeout(): FragmentError | undefined;
  /** A partial message timed out (`REASSEMBLY_TIMEOUT`): the session's reliability is over (spec §6). */
  fail(error: ReliabilityError): void;
  /** Keepalives went unanswered (`PEER_DEAD`). */
  dead(error: ReliabilityError): void;
}

/**
 * Liveness (spec §5.3): after `interval` of silence a keepalive goes out; `misses` unanswered in a row mean the
 * peer is dead. The same timer wakes for the partial-message timeout of the receive path, so an idle channel
 * holds one timer.
 */
export class Keepalive {
  readonly #context: KeepaliveContext;
  #lastReceived: number;
  #outstanding = false;
  #misses = 0;
  #timer: TimerHandle | undefined;
  #stopped = false;
  /** Keepalives sent. */
  sent = 0;

  constructor(context: KeepaliveContext) {
    this.#context = context;
    this.#lastReceived = context.clock.now();
    this.#arm(context.interval);
  }

  /** True while the timer is armed. */
  get timerArmed(): boolean {
    return this.#timer !== undefined;
  }

  /** A datagram of this session arrived: the peer is alive. */
  heard(): void {
    this.#lastReceived = this.#context.clock.now();
    this.#misses = 0;
    this.#outstanding = false;
  }

  /** Clears the timer for good (the channel is closing). */
  stop(): void {
    this.#stopped = true;
    if (this.#timer !== undefined) this.#context.clock.clearTimer(this.#timer);
    this.#timer = undefined;
  }

  #arm(delay: number): void {
    this.#timer = this.#context.clock.setTimer(() => this.#wake(), Math.max(delay, 1));
  }

  #wake(): void {
    this.#timer = undefined;
    if (this.#stopped) return;
    const context = this.#context;
    const now = context.clock.now();
    const partial = context.partialTimeout();
    if (partial !== undefined) {
      context.fail(new ReliabilityError('REASSEMBLY_TIMEOUT', partial.message, { cause: partial }));
      return;
    }
    let next = this.#lastReceived + context.interval - now;
    if (next <= 0) {
      if (this.#outstanding && ++this.#misses >= context.misses) {
        context.dead(
          new ReliabilityError('PEER_DEAD', `${this.#misses} keepalives in a row went unanswered`),
        );
        return;
      }
      this.#outstanding = true;
      this.sent++;
      context.sendKeepalive();
      next = context.interval;
    }
    const deadline = context.partialDeadline();
    if (deadline !== undefined) next = Math.min(next, deadline - now);
    this.#arm(next);
  }
}
