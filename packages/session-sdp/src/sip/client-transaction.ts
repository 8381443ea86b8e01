import type { SipAddress } from './transport.js';
import { serializeSip } from './codec.js';
import { SipHeaders } from './headers.js';
import type { SipRequest, SipResponse } from './message.js';
import { TransactionBase, type TransactionCommonEvent } from './transaction-base.js';
import type {
  ClientTransactionState,
  ClientTransactionUser,
  TransactionContext,
} from './transaction-context.js';

/** Events a client transaction's {@link ClientTransaction.transition} takes. */
export type ClientTransactionEvent =
  | { readonly type: 'start' }
  | { readonly type: 'response'; readonly response: SipResponse }
  | TransactionCommonEvent;

/**
 * RFC 3261 §17.1.1 (INVITE: Timers A, B, D) and §17.1.2 (non-INVITE: Timers E, F, K) client transactions over
 * an unreliable transport. One `transition()` holds every state change.
 */
export class ClientTransaction extends TransactionBase<Exclude<ClientTransactionState, 'terminated'>> {
  readonly #bytes: Uint8Array;
  #ack: Uint8Array | undefined;
  readonly #user: ClientTransactionUser;

  constructor(
    key: string,
    request: SipRequest,
    target: SipAddress,
    context: TransactionContext,
    user: ClientTransactionUser,
  ) {
    super(key, request, target, context, (isInvite) => (isInvite ? 'calling' : 'trying'));
    this.#bytes = serializeSip(request);
    this.#user = user;
  }

  transition(event: ClientTransactionEvent): void {
    const { T1, T2, T4 } = this.context.timers;
    const state = this.current;
    if (state === 'terminated') return;
    switch (event.type) {
      case 'start':
        if (this.send(this.#bytes)) {
          if (!this.reliable) this.timers.start(this.isInvite ? 'A' : 'E', T1);
          this.timers.start(this.isInvite ? 'B' : 'F', 64 * T1);
        }
        return;
      case 'timer':
        if (event.timer === 'A' && state === 'calling') {
          // INVITE retransmissions double without the T2 cap (§17.1.1.2).
          this.interval *= 2;
          if (this.send(this.#bytes)) this.timers.start('A', this.interval);
        } else if (event.timer === 'E' && (state === 'trying' || state === 'proceeding')) {
          this.interval = state === 'trying' ? Math.min(2 * this.interval, T2) : T2;
          if (this.send(this.#bytes)) this.timers.start('E', this.interval);
        } else if (
          (event.timer === 'B' && state === 'calling') ||
          (event.timer === 'F' && state !== 'completed')
        ) {
          this.terminate();
          this.#user.timeout();
        } else if (event.timer === 'D' || event.timer === 'K') {
          this.terminate();
        }
        return;
      case 'response':
        this.#onResponse(event.response, T4);
        return;
      case 'transport-error':
        this.terminate();
        this.#user.transportError(event.error);
        return;
    }
  }

  #onResponse(response: SipResponse, T4: number): void {
    const state = this.current;
    if (state === 'completed') {
      // A retransmitted non-2xx final: INVITE answers it with the same ACK again; non-INVITE absorbs it.
      if (this.isInvite && response.status >= 300 && this.#ack !== undefined) this.send(this.#ack);
      return;
    }
    if (response.status < 200) {
      this.current = 'proceeding';
      if (this.isInvite) this.timers.cancel('A');
      this.#user.response(response);
      return;
    }
    if (this.isInvite && response.status < 300) {
      // 2xx: the TU (dialog) sends the ACK and absorbs 2xx retransmissions (§17.1.1.2).
      this.terminate();
      this.#user.response(response);
      return;
    }
    this.current = 'completed';
    this.timers.cancelAll();
    if (this.isInvite) {
      this.#ack = serializeSip(ackForFailure(this.request, response));
      this.send(this.#ack);
      this.timers.start('D', this.reliable ? 0 : Math.max(32_000, 64 * this.context.timers.T1));
    } else {
      this.timers.start('K', this.reliable ? 0 : T4);
    }
    this.#user.response(response);
  }
}

/** RFC 3261 §17.1.1.3: the ACK of a non-2xx final response, built by the transaction itself. */
export function ackForFailure(invite: SipRequest, response: SipResponse): SipRequest {
  const h = invite.headers;
  const headers = new SipHeaders();
  const via = h.get('via');
  if (via !== undefined) headers.append('Via', via);
  for (const route of h.getAll('route')) headers.append('Route', route);
  headers.append('Max-Forwards', '70');
  headers.append('From', h.get('from') ?? '');
  headers.append('To', response.headers.get('to') ?? '');
  headers.append('Call-ID', h.get('call-id') ?? '');
  headers.append('CSeq', `${(h.get('cseq') ?? '').split(/\s+/)[0] ?? ''} ACK`);
  return { kind: 'request', method: 'ACK', uri: invite.uri, headers, body: new Uint8Array(0) };
}
