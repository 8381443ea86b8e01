import { DEFAULT_MAX_MESSAGE_SIZE, MESSAGE_HEADER_SIZE, WireError, decodeMessageHeader } from '@xpp/wire';
import { FragmentError } from './errors.js';
import { checkRange } from './internal/options.js';
import { SEQ_HALF, seqAdd } from './serial.js';
import { type Clock, systemClock } from './clock.js';

/** Default receive window (spec §5.1): octets held ahead of the next in-order fragment, per session. */
export const DEFAULT_RECEIVE_WINDOW = 4 * 1024 * 1024;
/** Default cap on how far ahead of the next in-order fragment a sequence number may be held. */
export const DEFAULT_MAX_FRAGMENTS_AHEAD = 16384;
/** Default partial-message timeout (spec §5.1). */
export const DEFAULT_PARTIAL_TIMEOUT = 30_000;
/**
 * What each held fragment costs against the receive window besides its payload, so that a flood of empty
 * fragments is bounded like a flood of full ones.
 */
export const HELD_FRAGMENT_OVERHEAD = 64;

/** Why a fragment (or the message it belongs to) was dropped. */
export type ReassemblyDropReason =
  /** Holding it would exceed the receive window: not acknowledged, so the sender retransmits it later. */
  | 'window-full'
  /** Its sequence number is further ahead than `maxFragmentsAhead`: not acknowledged. */
  | 'out-of-window'
  /** Its message announces more than `maxMessageSize` octets: the message's fragments are consumed unbuffered. */
  | 'message-too-large'
  /** A message's first fragment is shorter than the 12-octet message header. */
  | 'truncated-header'
  /** A message's fragments add up to more or fewer octets than its header announces. */
  | 'length-mismatch';

export const REASSEMBLY_DROP_REASONS: readonly ReassemblyDropReason[] = [
  'window-full',
  'out-of-window',
  'message-too-large',
  'truncated-header',
  'length-mismatch',
];

/**
 * What became of a fragment: `accepted` (new, to be acknowledged), `duplicate` (seen before, acknowledge it
 * again), `dropped` (over a bound: do not acknowledge).
 */
export type AcceptResult = 'accepted' | 'duplicate' | 'dropped';

export interface ReassemblerOptions {
  /** Sequence number of the first fragment expected from the peer (the one after its SYN). */
  readonly initialSeq: number;
  /** Called synchronously, in order, with each complete message. It may be a view into a received datagram. */
  readonly onMessage: (message: Uint8Array) => void;
  /** Source of monotonic milliseconds for the partial-message timeout. Default {@link systemClock}. */
  readonly clock?: Pick<Clock, 'now'>;
  /** Octets held ahead of the next in-order fragment. Default 4 MiB. */
  readonly receiveWindow?: number;
  /** Largest message accepted, header included. Default 256 KiB. */
  readonly maxMessageSize?: number;
  /** Furthest a held sequence number may be ahead of the next in-order one, 1..32767. Default 16384. */
  readonly maxFragmentsAhead?: number;
  /** Milliseconds a partial message may go without a new fragment. Default 30 000. */
  readonly partialTimeout?: number;
}

export interface ReassemblerStats {
  /** Complete messages released. */
  readonly messages: number;
  /** Fragments seen again (already released or already held). */
  readonly duplicates: number;
  /** Fragments currently held out of order, and what they cost against the receive window. */
  readonly heldFragments: number;
  readonly heldOctets: number;
  /** Octets of the message being assembled in order. */
  readonly partialOctets: number;
  readonly drops: Readonly<Record<ReassemblyDropReason, number>>;
}

interface Held {
  readonly payload: Uint8Array;
  readonly last: boolean;
}

/**
 * One session's in-order reassembler (spec §5.1): takes the payloads of `REL` fragments in any order, with
 * duplicates and sequence wrap-around, and releases complete messages in order. Memory is bounded by the
 * receive window (fragments held out of order) plus `maxMessageSize` (the message being assembled); whatever
 * would exceed a bound is dropped and counted, never buffered. Pure: no timers; the owner asks for
 * {@link partialDeadline} and calls {@link checkTimeout}.
 */
export class Reassembler {
  readonly receiveWindow: number;
  readonly maxMessageSize: number;
  readonly maxFragmentsAhead: number;
  readonly partialTimeout: number;

  readonly #onMessage: (message: Uint8Array) => void;
  readonly #clock: Pick<Clock, 'now'>;
  readonly #held = new Map<number, Held>();
  readonly #drops: Record<ReassemblyDropReason, number> = {
    'window-full': 0,
    'out-of-window': 0,
    'message-too-large': 0,
    'truncated-header': 0,
    'length-mismatch': 0,
  };
  #next: number;
  #heldOctets = 0;
  #messages = 0;
  #duplicates = 0;
  #lastProgress = 0;
  // The message being assembled in order: its pieces, their total, the announced total; or a message being
  // skipped to its LFR because it broke a bound.
  #pieces: Uint8Array[] = [];
  #partialOctets = 0;
  #expected = 0;
  #skipping = false;

  constructor(options: ReassemblerOptions) {
    this.#next = checkRange(options.initialSeq, 0, 0xffff, 'initialSeq');
    this.#onMessage = options.onMessage;
    this.#clock = options.clock ?? systemClock;
    this.receiveWindow = checkRange(
      options.receiveWindow ?? DEFAULT_RECEIVE_WINDOW,
      0,
      2 ** 31,
      'receiveWindow',
    );
    this.maxMessageSize = checkRange(
      options.maxMessageSize ?? DEFAULT_MAX_MESSAGE_SIZE,
      MESSAGE_HEADER_SIZE,
      2 ** 32,
      'maxMessageSize',
    );
    this.maxFragmentsAhead = checkRange(
      options.maxFragmentsAhead ?? DEFAULT_MAX_FRAGMENTS_AHEAD,
      1,
      SEQ_HALF - 1,
      'maxFragmentsAhead',
    );
    this.partialTimeout = checkRange(
      options.partialTimeout ?? DEFAULT_PARTIAL_TIMEOUT,
      1,
      2 ** 31,
      'partialTimeout',
    );
  }

  /** The sequence number of the next in-order fragment. */
  get nextSeq(): number {
    return this.#next;
  }

  /**
   * Takes one `REL` fragment's payload. `last` is its `LFR` flag. The payload is kept by reference while held,
   * so it must not be reused by the caller.
   */
  accept(seq: number, last: boolean, payload: Uint8Array): AcceptResult {
    const ahead = (seq - this.#next) & 0xffff;
    if (ahead >= SEQ_HALF) {
      this.#duplicates++;
      return 'duplicate';
    }
    if (ahead >= this.maxFragmentsAhead) return this.#drop('out-of-window');
    if (ahead === 0) {
      this.#lastProgress = this.#clock.now();
      this.#consume(payload, last);
      this.#next = seqAdd(this.#next, 1);
      this.#drainHeld();
      return 'accepted';
    }
    if (this.#held.has(seq)) {
      this.#duplicates++;
      return 'duplicate';
    }
    const cost = payload.length + HELD_FRAGMENT_OVERHEAD;
    if (this.#heldOctets + cost > this.receiveWindow) return this.#drop('window-full');
    this.#lastProgress = this.#clock.now();
    this.#held.set(seq, { payload, last });
    this.#heldOctets += cost;
    return 'accepted';
  }

  /** When the partial message (or held fragments) times out, or undefined when nothing is partial. */
  partialDeadline(): number | undefined {
    return this.#isPartial() ? this.#lastProgress + this.partialTimeout : undefined;
  }

  /**
   * `PARTIAL_TIMEOUT` when a partial message has had no new fragment for `partialTimeout`: the session's
   * reliability is over (spec §5.1) and the owner should {@link reset} and close it. Undefined otherwise.
   */
  checkTimeout(): FragmentError | undefined {
    const deadline = this.partialDeadline();
    if (deadline === undefined || this.#clock.now() < deadline) return undefined;
    return new FragmentError(
      'PARTIAL_TIMEOUT',
      `partial message at sequence ${this.#next} got no new fragment for ${this.partialTimeout} ms ` +
        `(${this.#partialOctets} octets assembled, ${this.#held.size} fragments held)`,
    );
  }

  /** Frees every held fragment and partial message. */
  reset(): void {
    this.#held.clear();
    this.#heldOctets = 0;
    this.#endMessage();
  }

  get stats(): ReassemblerStats {
    return {
      messages: this.#messages,
      duplicates: this.#duplicates,
      heldFragments: this.#held.size,
      heldOctets: this.#heldOctets,
      partialOctets: this.#partialOctets,
      drops: { ...this.#drops },
    };
  }

  #isPartial(): boolean {
    return this.#held.size > 0 || this.#partialOctets > 0 || this.#skipping;
  }

  #drop(reason: ReassemblyDropReason): 'dropped' {
    this.#drops[reason]++;
    return 'dropped';
  }

  #drainHeld(): void {
    const held = this.#held;
    if (held.size === 0) return;
    let entry = held.get(this.#next);
    while (entry !== undefined) {
      held.delete(this.#next);
      this.#heldOctets -= entry.payload.length + HELD_FRAGMENT_OVERHEAD;
      this.#consume(entry.payload, entry.last);
      this.#next = seqAdd(this.#next, 1);
      entry = held.get(this.#next);
    }
  }

  #consume(payload: Uint8Array, last: boolean): void {
    if (this.#skipping) {
      if (last) this.#skipping = false;
      return;
    }
    if (this.#partialOctets === 0) {
      this.#begin(payload, last);
      return;
    }
    this.#pieces.push(payload);
    this.#partialOctets += payload.length;
    if (this.#partialOctets > this.#expected) {
      this.#abandon('length-mismatch', last);
    } else if (last) {
      if (this.#partialOctets !== this.#expected) this.#abandon('length-mismatch', true);
      else this.#release(concat(this.#pieces, this.#partialOctets));
    }
  }

  #begin(payload: Uint8Array, last: boolean): void {
    if (payload.length < MESSAGE_HEADER_SIZE) {
      this.#abandon('truncated-header', last);
      return;
    }
    let expected: number;
    try {
      expected =
        MESSAGE_HEADER_SIZE +
        decodeMessageHeader(payload, { maxMessageSize: this.maxMessageSize }).paramsLength;
    } catch (error) {
      if (!WireError.is(error)) throw error;
      this.#abandon('message-too-large', last);
      return;
    }
    if (last) {
      // The common case for small messages: one fragment, released as a view without copying.
      if (payload.length === expected) this.#release(payload);
      else this.#abandon('length-mismatch', true);
      return;
    }
    if (payload.length >= expected) {
      this.#abandon('length-mismatch', false);
      return;
    }
    this.#expected = expected;
    this.#pieces.push(payload);
    this.#partialOctets = payload.length;
  }

  #release(message: Uint8Array): void {
    this.#endMessage();
    this.#messages++;
    this.#onMessage(message);
  }

  /** Drops the message being assembled; unless this was its last fragment, skips the rest up to its `LFR`. */
  #abandon(reason: ReassemblyDropReason, last: boolean): void {
    this.#drops[reason]++;
    this.#endMessage();
    this.#skipping = !last;
  }

  #endMessage(): void {
    this.#pieces = [];
    this.#partialOctets = 0;
    this.#expected = 0;
    this.#skipping = false;
  }
}

function concat(pieces: readonly Uint8Array[], size: number): Uint8Array {
  const out = new Uint8Array(size);
  let at = 0;
  for (const piece of pieces) {
    out.set(piece, at);
    at += piece.length;
  }
  return out;
}
