import type { Clock } from '@xpp/reliability';
import type { SessionError } from '../errors.js';
import type { SipAddress } from './transport.js';
import type { SipResponse } from './message.js';
import type { SipTimerValues } from './timer-set.js';

/** What a transaction needs from its layer: time, a way to send, and a way to leave the table. */
export interface TransactionContext {
  readonly clock: Clock;
  readonly timers: SipTimerValues;
  /** Sends bytes; returns the error instead of throwing so a state machine can take it as an event. */
  send(datagram: Uint8Array, to: SipAddress): SessionError | undefined;
  /** Called once when the transaction reaches Terminated. */
  terminated(key: string): void;
}

/** The transaction user (RFC 3261 §17) of a client transaction. */
export interface ClientTransactionUser {
  /** Every response passed up: provisional, then one final (retransmissions of a non-2xx final are absorbed). */
  response(response: SipResponse): void;
  /** Timer B or F fired without a final response. */
  timeout(): void;
  transportError(error: SessionError): void;
}

/** Client transaction states (RFC 3261 §17.1). `trying` is non-INVITE's, `calling` INVITE's. */
export type ClientTransactionState = 'calling' | 'trying' | 'proceeding' | 'completed' | 'terminated';
/**
 * Server transaction states (RFC 3261 §17.2). `confirmed` and `accepted` are INVITE's, `trying` non-INVITE's.
 * `accepted` (RFC 6026): the INVITE was answered 2xx; the transaction absorbs retransmissions of the INVITE,
 * sends the 2xx retransmissions the TU passes it, and passes ACKs to the TU until Timer L (64·T1).
 */
export type ServerTransactionState =
  'trying' | 'proceeding' | 'completed' | 'confirmed' | 'accepted' | 'terminated';
