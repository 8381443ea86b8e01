import type { Clock, TimerHandle } from '../clock.js';

export interface RetransmitTimerContext {
  readonly clock: Clock;
  /** Whether anything is unacknowledged: the timer is stopped lazily and may find nothing left to do. */
  outstanding(): boolean;
  /** The probe deadline passed: send one tail-loss probe. */
  probe(now: number): void;
  /** The retransmission timeout passed (RFC 6298 §5.4). */
  timeout(now: number): void;
}

const NEVER = Number.POSITIVE_INFINITY;

/**
 * The one retransmission timer of a channel (RFC 6298 §5) with a tail-loss probe deadline before it: after
 * progress the RTO restarts and, once an RTT is known, a probe is due first; further probes back off by
 * doubling until the timeout (as QUIC's PTO, RFC 9002 §6.2). One clock timer serves both deadlines.
 */
export class RetransmitTimer {
  readonly #context: RetransmitTimerContext;
  #timer: TimerHandle | undefined;
  #timerDue = 0;
  #rtoDeadline = NEVER;
  #probeDeadline = NEVER;
  #probeStart = 0;

  constructor(context: RetransmitTimerContext) {
    this.#context = context;
  }

  /** True while a clock timer is armed (it may outlive its deadlines: it is stopped lazily). */
  get armed(): boolean {
    return this.#timer !== undefined;
  }

  /** When the timeout falls due, or infinity when stopped. */
  get rtoDeadline(): number {
    return this.#rtoDeadline;
  }

  /** When the next probe falls due, or infinity when none is. */
  get probeDeadline(): number {
    return this.#probeDeadline;
  }

  /** Starts the deadlines for newly outstanding data unless they already run (RFC 6298 §5.1). */
  start(rto: number, pto: number): void {
    if (this.#rtoDeadline === NEVER) this.restart(rto, pto);
  }

  /** New deadlines after progress: the timeout after `rto`, and a probe after `pto` if that comes first. */
  restart(rto: number, pto: number): void {
    const now = this.#context.clock.now();
    this.#rtoDeadline = now + rto;
    this.#probeDeadline = pto < rto ? now + pto : NEVER;
    this.#probeStart = now;
    this.#arm(Math.min(this.#rtoDeadline, this.#probeDeadline));
  }

  /** Nothing is outstanding: no deadline. The armed timer, if any, finds nothing to do when it fires. */
  stop(): void {
    this.#rtoDeadline = this.#probeDeadline = NEVER;
  }

  /** Clears the clock timer too (the channel is closing). */
  cancel(): void {
    this.stop();
    if (this.#timer !== undefined) this.#context.clock.clearTimer(this.#timer);
    this.#timer = undefined;
  }

  /** Arms the clock timer for `due`, unless it is already armed for that time or earlier. */
  #arm(due: number): void {
    const clock = this.#context.clock;
    if (this.#timer !== undefined) {
      // Deadlines usually move later, which the timer handles lazily when it fires; only an earlier one re-arms.
      if (this.#timerDue <= due) return;
      clock.clearTimer(this.#timer);
    }
    this.#timerDue = due;
    this.#timer = clock.setTimer(() => this.#fire(), due - clock.now());
  }

  #fire(): void {
    this.#timer = undefined;
    const context = this.#context;
    if (!context.outstanding()) return;
    const now = context.clock.now();
    if (now >= this.#rtoDeadline) {
      context.timeout(now);
      return;
    }
    if (now >= this.#probeDeadline) {
      context.probe(now);
      // On a lossy path a lost probe or probe ACK is common, and a probe costs one datagram where a timeout
      // costs the whole window: probe again at doubling intervals until the timeout is due.
      const wait = 2 * (this.#probeDeadline - this.#probeStart);
      this.#probeStart = now;
      this.#probeDeadline = now + wait < this.#rtoDeadline ? now + wait : NEVER;
    }
    this.#arm(Math.min(this.#rtoDeadline, this.#probeDeadline));
  }
}
