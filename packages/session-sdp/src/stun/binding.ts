import type { Socket } from 'node:dgram';
import { systemClock, type Clock, type TimerHandle } from '@xpp/reliability';
import { SessionError, abortError } from '../errors.js';
import type { TransportAddress } from '../sdp/description.js';
import {
  StunAttribute,
  StunType,
  decodeStunMessage,
  encodeStunMessage,
  isStunMessage,
  newStunTransactionId,
  readMappedAddress,
  type StunMessage,
} from './codec.js';

/** RFC 8489 §6.2.1 defaults: RTO 500 ms, Rc = 7 requests, Rm = 16 (wait after the last request). */
export const DEFAULT_STUN_RTO_MS = 500;
export const DEFAULT_STUN_MAX_REQUESTS = 7;
export const DEFAULT_STUN_LAST_WAIT_FACTOR = 16;

export interface StunBindingOptions {
  readonly clock?: Clock;
  /** Default {@link DEFAULT_STUN_RTO_MS}. */
  readonly rtoMs?: number;
  /** Rc, default {@link DEFAULT_STUN_MAX_REQUESTS}. */
  readonly maxRequests?: number;
  /** Rm, default {@link DEFAULT_STUN_LAST_WAIT_FACTOR}. */
  readonly lastWaitFactor?: number;
  readonly signal?: AbortSignal;
  /** Append FINGERPRINT to the request (RFC 8489 §14.7); default true. */
  readonly fingerprint?: boolean;
}

export type StunBindingEvent =
  | { readonly type: 'start' }
  | { readonly type: 'timer' }
  | { readonly type: 'response'; readonly message: StunMessage }
  | { readonly type: 'abort' };

/**
 * One STUN Binding request (RFC 8489) over an unreliable transport: retransmits with doubling RTO, resolves
 * {@link result} with the server-reflexive address, rejects with `STUN_TIMEOUT`, `BAD_STUN` (error response),
 * `ABORTED`. The owner of the socket feeds datagrams to {@link receive}; one `transition()` holds every change.
 */
export class StunBindingTransaction {
  readonly transactionId = newStunTransactionId();
  readonly server: TransportAddress;
  readonly result: Promise<TransportAddress>;
  #state: 'idle' | 'waiting' | 'done' = 'idle';
  #sent = 0;
  #rto: number;
  #timer: TimerHandle | undefined;
  readonly #request: Uint8Array;
  readonly #send: (datagram: Uint8Array, to: TransportAddress) => void;
  readonly #clock: Clock;
  readonly #options: StunBindingOptions;
  readonly #onAbort = () => this.transition({ type: 'abort' });
  #resolve: (address: TransportAddress) => void = () => undefined;
  #reject: (error: SessionError) => void = () => undefined;

  constructor(
    server: TransportAddress,
    send: (datagram: Uint8Array, to: TransportAddress) => void,
    options: StunBindingOptions = {},
  ) {
    this.server = server;
    this.#send = send;
    this.#options = options;
    this.#clock = options.clock ?? systemClock;
    this.#rto = options.rtoMs ?? DEFAULT_STUN_RTO_MS;
    this.#request = encodeStunMessage(
      { type: StunType.BINDING_REQUEST, transactionId: this.transactionId, attributes: [] },
      { fingerprint: options.fingerprint ?? true },
    );
    this.result = new Promise((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
    // A caller that only awaits `result` later must not see an unhandled rejection in between.
    this.result.catch(() => undefined);
    options.signal?.addEventListener('abort', this.#onAbort, { once: true });
  }

  /** Sends the first request. */
  start(): Promise<TransportAddress> {
    this.transition({ type: this.#options.signal?.aborted === true ? 'abort' : 'start' });
    return this.result;
  }

  /** Offers a received datagram; true when it was this transaction's response (consumed). Never throws. */
  receive(datagram: Uint8Array, from: TransportAddress): boolean {
    if (this.#state !== 'waiting' || !isStunMessage(datagram)) return false;
    if (from.address !== this.server.address || from.port !== this.server.port) return false;
    let message: StunMessage;
    try {
      message = decodeStunMessage(datagram);
    } catch {
      return false;
    }
    if (!sameId(message.transactionId, this.transactionId)) return false;
    this.transition({ type: 'response', message });
    return true;
  }

  transition(event: StunBindingEvent): void {
    if (this.#state === 'done') return;
    const maxRequests = this.#options.maxRequests ?? DEFAULT_STUN_MAX_REQUESTS;
    switch (event.type) {
      case 'start':
      case 'timer':
        if (this.#sent >= maxRequests) {
          this.#finish(new SessionError('STUN_TIMEOUT', `no STUN response after ${maxRequests} requests`));
          return;
        }
        this.#state = 'waiting';
        try {
          this.#send(this.#request, this.server);
        } catch (cause) {
          this.#finish(new SessionError('TRANSPORT', 'cannot send STUN request', { cause }));
          return;
        }
        this.#sent++;
        // Requests at 0, RTO, 3·RTO, 7·RTO, … ; after the last one, wait Rm·RTO (RFC 8489 §6.2.1).
        this.#timer = this.#clock.setTimer(
          () => this.transition({ type: 'timer' }),
          this.#sent >= maxRequests
            ? this.#rto * (this.#options.lastWaitFactor ?? DEFAULT_STUN_LAST_WAIT_FACTOR)
            : this.#rto * 2 ** (this.#sent - 1),
        );
        return;
      case 'response': {
        const { message } = event;
        if (message.type === StunType.BINDING_SUCCESS) {
          const mapped = readMappedAddress(message);
          this.#finish(mapped ?? new SessionError('BAD_STUN', 'binding response without a mapped address'));
        } else if (message.type === StunType.BINDING_ERROR) {
          const code = message.attributes.find((a) => a.type === StunAttribute.ERROR_CODE)?.value;
          const status = code === undefined || code.length < 4 ? 0 : (code[2] ?? 0) * 100 + (code[3] ?? 0);
          this.#finish(new SessionError('BAD_STUN', `STUN error response ${status}`, { status }));
        }
        return;
      }
      case 'abort':
        this.#finish(abortError(this.#options.signal ?? AbortSignal.abort()));
        return;
    }
  }

  #finish(outcome: TransportAddress | SessionError): void {
    this.#state = 'done';
    this.#options.signal?.removeEventListener('abort', this.#onAbort);
    if (this.#timer !== undefined) this.#clock.clearTimer(this.#timer);
    if (outcome instanceof SessionError) this.#reject(outcome);
    else this.#resolve(outcome);
  }
}

/**
 * Asks `server` for this socket's server-reflexive address (an `srflx` candidate) over an open `node:dgram`
 * socket. The socket's other traffic is untouched; the listener is removed when done.
 */
export async function stunBinding(
  socket: Socket,
  server: TransportAddress,
  options: StunBindingOptions = {},
): Promise<TransportAddress> {
  const transaction = new StunBindingTransaction(
    server,
    (datagram, to) => socket.send(datagram, to.port, to.address),
    options,
  );
  const listener = (message: Buffer, remote: { address: string; port: number }) => {
    transaction.receive(new Uint8Array(message.buffer, message.byteOffset, message.byteLength), remote);
  };
  socket.on('message', listener);
  try {
    return await transaction.start();
  } finally {
    socket.off('message', listener);
  }
}

function sameId(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((octet, i) => octet === b[i]);
}
