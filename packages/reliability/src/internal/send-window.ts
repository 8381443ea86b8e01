import { decodeMessageHeader } from '@xpp/wire';
import type { ReliabilityError } from '../errors.js';

/** Where a sent fragment stands. */
export const FragmentState = { InFlight: 1, Acked: 2, Lost: 3 } as const;
export type FragmentState = (typeof FragmentState)[keyof typeof FragmentState];

/** A reliable message accepted by `send` (or the SYN): its fragments' progress and its promise. */
export interface Outgoing {
  readonly bytes: Uint8Array;
  readonly count: number;
  readonly syn: boolean;
  /** For a one-fragment message encoded in place: its datagram, header octets still to be written. */
  frame: Uint8Array | undefined;
  /** Index of the next fragment to be given a sequence number. */
  next: number;
  acked: number;
  done: boolean;
  resolve: () => void;
  reject: (error: ReliabilityError) => void;
}

/** One fragment given a sequence number and sent, until acknowledged. */
export interface SentFragment {
  readonly seq: number;
  readonly message: Outgoing;
  readonly index: number;
  /** What it costs against the peer's receive window: payload plus the reassembler's per-fragment overhead. */
  readonly cost: number;
  /** Encoded when first sent; dropped once acknowledged. */
  datagram: Uint8Array | undefined;
  state: FragmentState;
  sentAt: number;
  firstSentAt: number;
  retransmitted: boolean;
  /** Retransmission timer expiries while it was in flight (the spec's retries). */
  timeouts: number;
  txOrder: number;
}

/**
 * Slots of a new ring (a power of two). Small: most sessions carry a request or two at a time, and every session
 * holds its ring for life (64 slots were ~0.5 KB per session, issue #16); a burst doubles it as needed.
 */
const INITIAL_RING = 8;

/**
 * The fragments from the oldest unacknowledged (`una`) to the next sequence number to assign (`next`), in a ring
 * indexed by sequence number that doubles when full. The window stays below half the sequence space, so the
 * ring never wraps onto itself.
 */
export class SendWindow {
  una: number;
  next: number;
  /** Sum of the outstanding fragments' `cost`. */
  octets = 0;
  #ring: (SentFragment | undefined)[] = new Array<SentFragment | undefined>(INITIAL_RING);
  #mask = INITIAL_RING - 1;

  constructor(start: number) {
    this.una = start;
    this.next = start;
  }

  /** Sequence numbers assigned and not yet behind `una`. */
  get outstanding(): number {
    return (this.next - this.una) & 0xffff;
  }

  /** The fragment with sequence number `seq`, if it is outstanding. */
  at(seq: number): SentFragment | undefined {
    if (((seq - this.una) & 0xffff) >= this.outstanding) return undefined;
    return this.#ring[seq & this.#mask];
  }

  /** Adds `fragment`, whose `seq` must be `next`, and moves `next` on. */
  push(fragment: SentFragment): void {
    if (this.outstanding >= this.#ring.length) this.#grow();
    this.#ring[fragment.seq & this.#mask] = fragment;
    this.next = (this.next + 1) & 0xffff;
    this.octets += fragment.cost;
  }

  /** Drops acknowledged fragments from the front, moving `una`. */
  advance(): void {
    while (this.una !== this.next) {
      const slot = this.una & this.#mask;
      const fragment = this.#ring[slot];
      if (fragment === undefined || fragment.state !== FragmentState.Acked) break;
      this.octets -= fragment.cost;
      this.#ring[slot] = undefined;
      this.una = (this.una + 1) & 0xffff;
    }
    // A ring a burst grew goes back to its first size once drained: an idle session keeps no slots for it.
    if (this.una === this.next && this.#ring.length > INITIAL_RING) this.#reset();
  }

  /** Every outstanding fragment not yet acknowledged, oldest first. */
  *unacked(): Generator<SentFragment> {
    for (let s = this.una; s !== this.next; s = (s + 1) & 0xffff) {
      const fragment = this.#ring[s & this.#mask];
      if (fragment !== undefined && fragment.state !== FragmentState.Acked) yield fragment;
    }
  }

  /** Forgets everything outstanding (the channel is closing). */
  clear(): void {
    this.#reset();
    this.una = this.next;
    this.octets = 0;
  }

  #reset(): void {
    this.#ring = new Array<SentFragment | undefined>(INITIAL_RING);
    this.#mask = INITIAL_RING - 1;
  }

  #grow(): void {
    const size = this.#ring.length * 2;
    const ring = new Array<SentFragment | undefined>(size);
    const mask = size - 1;
    for (let s = this.una; s !== this.next; s = (s + 1) & 0xffff) ring[s & mask] = this.#ring[s & this.#mask];
    this.#ring = ring;
    this.#mask = mask;
  }
}

/** Names a message in errors (computed only when one is raised). */
export function describe(outgoing: Outgoing): string {
  if (outgoing.syn) return 'SYN';
  const bytes = outgoing.bytes;
  try {
    const h = decodeMessageHeader(bytes, { maxMessageSize: Number.MAX_SAFE_INTEGER });
    const kind = h.response ? 'response' : 'request';
    return `${kind} number ${h.number} type 0x${h.type.toString(16).padStart(4, '0')} (${bytes.length} octets)`;
  } catch {
    return `message of ${bytes.length} octets`;
  }
}
