import type { Clock } from '@xpp/reliability';
import type { TransportAddress } from '../sdp/description.js';
import { decodeStunMessage, encodeMappedAddress, encodeStunMessage, StunType } from './codec.js';

/** Binding answers per second an endpoint gives at most by default (a token bucket, burst of the same size). */
export const DEFAULT_STUN_ANSWERS_PER_SECOND = 50;

/** Why a STUN message that reached a responder got no answer. */
export type StunRefusal = 'malformed' | 'not-a-request' | 'over-budget';

/**
 * The STUN server side of RFC 8489 §6.3 for Binding requests, as every XPP endpoint runs it on its own socket: a
 * neighbour asks where it appears from (its server-reflexive address, what an overlay peer behind a NAT advertises).
 * The answer is no larger than the request plus 12 octets of XOR-MAPPED-ADDRESS and goes only to the request's
 * source, so it amplifies nothing worth having; a token bucket still bounds what a flood costs, counted.
 */
export class StunResponder {
  readonly #clock: Clock;
  readonly #rate: number;
  #tokens: number;
  #last: number;
  #answered = 0;
  readonly #refused: Record<StunRefusal, number> = { malformed: 0, 'not-a-request': 0, 'over-budget': 0 };

  constructor(options: { clock: Clock; answersPerSecond?: number }) {
    this.#clock = options.clock;
    this.#rate = options.answersPerSecond ?? DEFAULT_STUN_ANSWERS_PER_SECOND;
    this.#tokens = this.#rate;
    this.#last = this.#clock.now();
  }

  /** The Binding success response to `datagram` from `source`, or undefined (counted) when none is due. */
  answer(datagram: Uint8Array, source: TransportAddress): Uint8Array | undefined {
    let request;
    try {
      request = decodeStunMessage(datagram);
    } catch {
      this.#refused.malformed++;
      return undefined;
    }
    if (request.type !== StunType.BINDING_REQUEST) {
      this.#refused['not-a-request']++;
      return undefined;
    }
    if (!this.#take()) {
      this.#refused['over-budget']++;
      return undefined;
    }
    this.#answered++;
    return encodeStunMessage(
      {
        type: StunType.BINDING_SUCCESS,
        transactionId: request.transactionId,
        attributes: [encodeMappedAddress(source, request.transactionId)],
      },
      { fingerprint: true },
    );
  }

  get stats(): { readonly answered: number; readonly refused: Readonly<Record<StunRefusal, number>> } {
    return { answered: this.#answered, refused: { ...this.#refused } };
  }

  #take(): boolean {
    const now = this.#clock.now();
    this.#tokens = Math.min(this.#rate, this.#tokens + ((now - this.#last) * this.#rate) / 1000);
    this.#last = now;
    if (this.#tokens < 1) return false;
    this.#tokens--;
    return true;
  }
}
