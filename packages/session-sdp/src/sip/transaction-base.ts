import type { SessionError } from '../errors.js';
import { isStreamTransport, type SipAddress } from './transport.js';
import type { SipRequest } from './message.js';
import { TimerSet, type SipTimerName } from './timer-set.js';
import type { TransactionContext } from './transaction-context.js';

/** Events every transaction takes besides its own. */
export type TransactionCommonEvent =
  | { readonly type: 'timer'; readonly timer: SipTimerName }
  | { readonly type: 'transport-error'; readonly error: SessionError };

/**
 * What client and server transactions share: identity, request, target, timers, sending through the layer and
 * reaching Terminated. Each subclass keeps its whole state machine in its own `transition()`.
 */
export abstract class TransactionBase<State extends string> {
  readonly key: string;
  readonly request: SipRequest;
  readonly target: SipAddress;
  readonly isInvite: boolean;
  /**
   * Whether the target is reached over a stream (TCP, TLS): RFC 3261 §17 then sends no retransmissions (Timers A, E,
   * G) and waits no time for them (Timers D, I, J, K are zero).
   */
  protected readonly reliable: boolean;
  protected current: State | 'terminated';
  /** The retransmission interval now (T1 doubling, capped or not by T2 as each machine says). */
  protected interval: number;
  protected readonly context: TransactionContext;
  protected readonly timers: TimerSet<SipTimerName>;

  protected constructor(
    key: string,
    request: SipRequest,
    target: SipAddress,
    context: TransactionContext,
    initial: (isInvite: boolean) => State,
  ) {
    this.key = key;
    this.request = request;
    this.target = target;
    this.isInvite = request.method === 'INVITE';
    this.reliable = isStreamTransport(target);
    this.current = initial(this.isInvite);
    this.interval = context.timers.T1;
    this.context = context;
    this.timers = new TimerSet(context.clock, (timer) => this.transition({ type: 'timer', timer }));
  }

  get state(): State | 'terminated' {
    return this.current;
  }

  abstract transition(event: TransactionCommonEvent): void;

  /** Sends through the layer; a failure becomes a `transport-error` event. */
  protected send(bytes: Uint8Array): boolean {
    const error = this.context.send(bytes, this.target);
    if (error === undefined) return true;
    this.transition({ type: 'transport-error', error });
    return false;
  }

  protected terminate(): void {
    this.current = 'terminated';
    this.timers.cancelAll();
    this.context.terminated(this.key);
  }

  /** Ends the transaction at once (layer shutdown), cancelling its timers without telling anyone. */
  abandon(): void {
    if (this.current !== 'terminated') this.terminate();
  }
}
