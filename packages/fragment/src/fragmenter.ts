import { FRAGMENT_HEADER_SIZE, Flag, encodeFragmentHeader } from '@xpp/wire';
import { FragmentError } from './errors.js';
import { maxDatagramSizeOption } from './internal/options.js';
import { seqAdd } from './serial.js';

export interface FragmenterOptions {
  /** Largest datagram the endpoint sends, header included: 576..65507, default 1200 (spec §2). */
  readonly maxDatagramSize?: number;
  /**
   * Where each datagram's memory comes from; it is entirely overwritten, so it need not be zeroed. Default
   * `new Uint8Array(size)`; a pooled allocator (views into shared slabs) is much cheaper per datagram.
   */
  readonly allocate?: (size: number) => Uint8Array;
}

const allocateZeroed = (size: number): Uint8Array => new Uint8Array(size);

/** The header fields a fragment needs besides its flags. */
export interface FragmentAddress {
  /** The sender's ltag. */
  readonly localId: number;
  /** The receiver's ltag. */
  readonly remoteId: number;
}

/**
 * Cuts encoded messages into datagrams (spec §5.1). A reliable message becomes `count(length)` fragments with
 * consecutive sequence numbers, `REL` on each and `LFR` on the last; an unreliable one is a single datagram with
 * `LFR` and no `REL`, or `TOO_LARGE`. Pieces are views into the message: nothing is copied until a datagram is
 * encoded, so a sender can encode each fragment only when its window lets it go out.
 */
export class Fragmenter {
  readonly maxDatagramSize: number;
  /** Octets of message carried by one fragment. */
  readonly maxPayload: number;
  readonly #allocate: (size: number) => Uint8Array;

  constructor(options: FragmenterOptions = {}) {
    this.maxDatagramSize = maxDatagramSizeOption(options.maxDatagramSize);
    this.maxPayload = this.maxDatagramSize - FRAGMENT_HEADER_SIZE;
    this.#allocate = options.allocate ?? allocateZeroed;
  }

  /** Fragments a reliable message of `length` octets takes (at least one: an empty payload still says `LFR`). */
  count(length: number): number {
    return length <= this.maxPayload ? 1 : Math.ceil(length / this.maxPayload);
  }

  /** The payload of fragment `index` of `message`: a view, not a copy. */
  piece(message: Uint8Array, index: number): Uint8Array {
    const start = index * this.maxPayload;
    return message.subarray(start, Math.min(start + this.maxPayload, message.length));
  }

  /**
   * The datagram of reliable fragment `index` of `message`, sequence number `seq`: `REL`, plus `LFR` on the last.
   * `extraFlags` adds e.g. `SYN`.
   */
  encode(
    message: Uint8Array,
    index: number,
    seq: number,
    address: FragmentAddress,
    extraFlags = 0,
  ): Uint8Array {
    const last = index === this.count(message.length) - 1;
    return this.#datagram(
      this.piece(message, index),
      Flag.REL | (last ? Flag.LFR : 0) | extraFlags,
      seq,
      address,
    );
  }

  /** Every datagram of a reliable message from `firstSeq` on (wrapping at 2^16). The next message starts at `firstSeq + count`. */
  fragment(message: Uint8Array, firstSeq: number, address: FragmentAddress): Uint8Array[] {
    const count = this.count(message.length);
    const out: Uint8Array[] = new Array<Uint8Array>(count);
    for (let i = 0; i < count; i++) out[i] = this.encode(message, i, seqAdd(firstSeq, i), address);
    return out;
  }

  /**
   * The one datagram of an unreliable message: `LFR`, no `REL`; `seq` is the sender's next unconsumed number
   * (it consumes nothing). A message that does not fit is refused with `TOO_LARGE` (spec §5.1).
   */
  unreliable(message: Uint8Array, seq: number, address: FragmentAddress): Uint8Array {
    if (message.length > this.maxPayload) {
      throw new FragmentError(
        'TOO_LARGE',
        `unreliable message of ${message.length} octets exceeds one datagram's payload of ${this.maxPayload}`,
      );
    }
    return this.#datagram(message, Flag.LFR, seq, address);
  }

  #datagram(payload: Uint8Array, flags: number, seq: number, address: FragmentAddress): Uint8Array {
    const out = this.#allocate(FRAGMENT_HEADER_SIZE + payload.length);
    encodeFragmentHeader({ flags, seq, localId: address.localId, remoteId: address.remoteId }, out, 0);
    out.set(payload, FRAGMENT_HEADER_SIZE);
    return out;
  }
}
