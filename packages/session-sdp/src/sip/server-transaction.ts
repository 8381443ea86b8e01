import type { SessionError } from '../errors.js';
import type { SipAddress } from './transport.js';
import { serializeSip } from './codec.js';
import type { SipRequest, SipResponse } from './message.js';
import { TransactionBase, type TransactionCommonEvent } from './transaction-base.js';
import type { ServerTransactionState, TransactionContext } from './transaction-context.js';

/** Events a server transaction's {@link ServerTransaction.transition} takes. */
export type ServerTransactionEvent =
  /** The request again (retransmission), or for INVITE the ACK of a non-2xx. */
  | { readonly type: 'request'; readonly request: SipRequest }
  /** The TU sends a response. */
  | { readonly type: 'respond'; readonly response: SipResponse }
  | TransactionCommonEvent;

/** What a server transaction tells its owner besides sending. */
export interface ServerTransactionObserver {
  /** Timer H fired: the ACK of a non-2xx never came (§17.2.1). */
  timeout?(): void;
  /** A send failed. The transaction ends, except in Accepted, which stays until Timer L (RFC 6026). */
  transportError?(error: SessionError): void;
}

/**
 * RFC 3261 §17.2.1 (INVITE: Timers G, H, I; RFC 6026's Accepted state and Timer L) and §17.2.2 (non-INVITE: Timer
 * J) server transactions over an unreliable transport. One `transition()` holds every state change.
 */
export class ServerTransaction extends TransactionBase<Exclude<ServerTransactionState, 'terminated'>> {
  #last: Uint8Array | undefined;
  readonly #observer: ServerTransactionObserver;

  /** `target` is where responses go: the top Via's received/rport (RFC 3581). */
  constructor(
    key: string,
    request: SipRequest,
    target: SipAddress,
    context: TransactionContext,
    observer: ServerTransactionObserver = {},
  ) {
    super(key, request, target, context, (isInvite) => (isInvite ? 'proceeding' : 'trying'));
    this.#observer = observer;
  }

  /** Sends a response through the transaction (the TU's only way to answer). */
  respond(response: SipResponse): void {
    this.transition({ type: 'respond', response });
  }

  /**
   * Answers as a stateless UAS (RFC 3261 §8.2.7): sends `response` once and ends the transaction at once, so it
   * holds no table slot for Timer J (or H). A retransmitted request then meets no transaction and is answered
   * afresh, so use it only for answers that depend on the request alone (OPTIONS to the server, 405, 501) and
   * give them a To tag from `statelessToTag`, the same for every retransmission.
   */
  respondStateless(response: SipResponse): void {
    this.transition({ type: 'respond', response });
    this.abandon();
  }

  transition(event: ServerTransactionEvent): void {
    const { T1, T2, T4 } = this.context.timers;
    const state = this.current;
    if (state === 'terminated') return;
    switch (event.type) {
      case 'request':
        if (event.request.method === 'ACK') {
          if (this.isInvite && state === 'completed') {
            this.current = 'confirmed';
            this.timers.cancelAll();
            this.timers.start('I', this.reliable ? 0 : T4);
          }
          // In Accepted the layer passes the ACK (of our 2xx) to the TU (RFC 6026): nothing to do here.
        } else if (state === 'accepted') {
          // RFC 6026: an INVITE retransmitted after our 2xx (it crossed the 2xx) is absorbed: it is not a new
          // request for the TU, and the transaction does not resend the 2xx itself (the UAS core does, §13.3.1.4).
        } else if (state !== 'trying' && state !== 'confirmed' && this.#last !== undefined) {
          this.send(this.#last);
        }
        return;
      case 'respond':
        this.#onRespond(event.response, T1);
        return;
      case 'timer':
        if (event.timer === 'G' && state === 'completed' && this.#last !== undefined) {
          this.interval = Math.min(2 * this.interval, T2);
          if (this.send(this.#last)) this.timers.start('G', this.interval);
        } else if (event.timer === 'H' && state === 'completed') {
          this.terminate();
          this.#observer.timeout?.();
        } else if (event.timer === 'I' || event.timer === 'J' || event.timer === 'L') {
          this.terminate();
        }
        return;
      case 'transport-error':
        // RFC 6026: in Accepted the TU is told and the transaction stays until Timer L, so that a late
        // retransmission of the INVITE is still absorbed (Timer L bounds it either way).
        if (state !== 'accepted') this.terminate();
        this.#observer.transportError?.(event.error);
        return;
    }
  }

  #onRespond(response: SipResponse, T1: number): void {
    const state = this.current;
    const success = response.status >= 200 && response.status < 300;
    if (state === 'accepted') {
      // RFC 6026: a 2xx the TU passes while Accepted (its retransmission of the 2xx, §13.3.1.4) goes to the
      // transport; any other response is too late.
      if (success) this.send(serializeSip(response));
      return;
    }
    if (state !== 'trying' && state !== 'proceeding') return;
    const bytes = serializeSip(response);
    this.#last = bytes;
    if (response.status < 200) {
      this.current = 'proceeding';
      this.send(bytes);
      return;
    }
    if (this.isInvite && success) {
      // 2xx: the TU retransmits it until the ACK (§13.3.1.4). RFC 6026: the transaction stays, Accepted, for
      // Timer L = 64·T1 so that an INVITE retransmitted across the 2xx is not taken for a new request. Accepted
      // before sending: a send that fails leaves it there (see `transport-error`).
      this.current = 'accepted';
      this.timers.start('L', 64 * T1);
      this.send(bytes);
      return;
    }
    if (!this.send(bytes)) return;
    if (this.isInvite) {
      this.current = 'completed';
      if (!this.reliable) this.timers.start('G', T1);
      this.timers.start('H', 64 * T1);
    } else {
      this.current = 'completed';
      this.timers.start('J', this.reliable ? 0 : 64 * T1);
    }
  }
}
