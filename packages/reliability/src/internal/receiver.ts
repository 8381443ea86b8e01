import { type FragmentError, Reassembler, type ReassemblerStats, seqAdd } from '@xpp/fragment';
import {
  type AckRange,
  Flag,
  MAX_ACK_TRAILER_RANGES,
  type Message,
  WireError,
  decodeMessage,
} from '@xpp/wire';
import type { ChannelDropReason, ReceivedMessage } from '../channel-types.js';
import type { Clock, TimerHandle } from '../clock.js';
import { AckBatch } from './ack-batch.js';
import type { ResolvedChannelOptions } from './channel-options.js';

/** What the receive path needs from its channel. */
export interface ReceiverContext {
  readonly clock: Clock;
  readonly options: Pick<
    ResolvedChannelOptions,
    | 'maxMessageSize'
    | 'receiveWindow'
    | 'maxFragmentsAhead'
    | 'partialTimeout'
    | 'ackDelay'
    | 'ackEvery'
    | 'ackHistory'
    | 'maxAckRanges'
  >;
  /** Largest ACK payload, in octets (one datagram's payload). */
  readonly maxAckPayload: number;
  /** Sends one ACK datagram: `seq` in its header, `ranges` (if any) in its payload. */
  sendAck(seq: number, ranges: readonly AckRange[] | undefined): void;
  drop(reason: Extract<ChannelDropReason, 'unexpected-syn' | 'no-syn' | 'bad-message'>): void;
  /** The peer's SYN arrived (the first time). */
  peerSyn(): void;
  /** A decoded message, reliable ones in order. */
  deliver(received: ReceivedMessage): void;
}

/** Counters of the receive path, as reported in `ChannelStats`. */
export interface ReceiverStats {
  ackDatagramsSent: number;
  /** Acknowledgements handed to an outgoing data fragment instead of an ACK datagram. */
  piggybackedAcks: number;
  messagesReceived: number;
  /** Duplicate SYNs; duplicate fragments are the reassembler's. */
  duplicates: number;
}

/**
 * The receive path of a channel (spec §5, §6): the peer's SYN, in-order reassembly of reliable fragments,
 * decoding, and the acknowledgements, batched into as few ACK datagrams as the traffic allows (delayed ACK).
 */
export class Receiver {
  readonly stats: ReceiverStats = {
    ackDatagramsSent: 0,
    piggybackedAcks: 0,
    messagesReceived: 0,
    duplicates: 0,
  };
  readonly #context: ReceiverContext;
  readonly #acks = new AckBatch();
  #reassembler: Reassembler | undefined;
  #peerInitialSeq: number | undefined;
  #ackTimer: TimerHandle | undefined;
  #ackDelayed = false;
  /** The fragment being accepted, whose ACK is queued before any message it completes is delivered. */
  #acceptingSeq = -1;
  #acceptingUrgent = false;
  #closed = false;

  constructor(context: ReceiverContext) {
    this.#context = context;
  }

  /** True once the peer's SYN is in. */
  get peerSynSeen(): boolean {
    return this.#peerInitialSeq !== undefined;
  }

  /** True while acknowledgements wait for a datagram to carry them. */
  get acksPending(): boolean {
    return this.#acks.size > 0;
  }

  /** True while an ACK flush is scheduled. */
  get timerArmed(): boolean {
    return this.#ackTimer !== undefined;
  }

  /** The reassembler's counters, once the peer's SYN is in. */
  get reassembly(): ReassemblerStats | undefined {
    return this.#reassembler?.stats;
  }

  /** The partial message that waited too long, if any (spec §6: the session fails). */
  checkPartialTimeout(): FragmentError | undefined {
    return this.#reassembler?.checkTimeout();
  }

  /** When the oldest partial message times out, if one is held. */
  partialDeadline(): number | undefined {
    return this.#reassembler?.partialDeadline();
  }

  /** Starts reassembly after the peer's SYN numbered `seq` (also for a channel created established). */
  acceptPeerSyn(seq: number): void {
    const o = this.#context.options;
    this.#peerInitialSeq = seq;
    this.#reassembler = new Reassembler({
      initialSeq: seqAdd(seq, 1),
      clock: this.#context.clock,
      onMessage: (bytes) => {
        // Queued first, so that a response sent in the same turn carries the ACK of its request (spec §5.2 v2).
        this.#queueAccepting();
        this.deliver(bytes, true);
      },
      receiveWindow: o.receiveWindow,
      maxMessageSize: o.maxMessageSize,
      maxFragmentsAhead: o.maxFragmentsAhead,
      partialTimeout: o.partialTimeout,
    });
    this.#context.peerSyn();
  }

  /** A reliable fragment (`REL` set, `ACK` and `KPA` clear). */
  onReliable(seq: number, flags: number, payload: Uint8Array): void {
    if ((flags & Flag.SYN) !== 0) {
      if (this.#peerInitialSeq === undefined) this.acceptPeerSyn(seq);
      else if (seq !== this.#peerInitialSeq) {
        this.#context.drop('unexpected-syn');
        return;
      } else this.stats.duplicates++;
      this.#queueAck(seq, true);
      return;
    }
    const reassembler = this.#reassembler;
    if (reassembler === undefined) {
      this.#context.drop('no-syn');
      return;
    }
    const last = (flags & Flag.LFR) !== 0;
    this.#acceptingSeq = seq;
    this.#acceptingUrgent = !last;
    if (reassembler.accept(seq, last, payload) !== 'dropped') this.#queueAccepting();
    this.#acceptingSeq = -1;
  }

  /** Decodes a whole message (reassembled, or an unreliable datagram's) and hands it on. */
  deliver(bytes: Uint8Array, reliable: boolean): void {
    let message: Message;
    try {
      message = decodeMessage(bytes, { maxMessageSize: this.#context.options.maxMessageSize });
    } catch (error) {
      if (!WireError.is(error)) throw error;
      this.#context.drop('bad-message');
      return;
    }
    this.stats.messagesReceived++;
    this.#context.deliver({ message, bytes, reliable });
  }

  /**
   * Everything waiting to be acknowledged, for a data fragment about to leave (piggybacked ACK, spec §5.2 profile
   * v2), with the in-order history when there is room; the stand-alone ACK is then not sent. Undefined when none
   * waits or the ranges do not fit in `room` ranges: the ACK datagram then goes out as it would have.
   */
  takeAcks(room: number): AckRange[] | undefined {
    const acks = this.#acks;
    const limit = Math.min(room, MAX_ACK_TRAILER_RANGES, this.#context.options.maxAckRanges);
    if (this.#closed || acks.size === 0 || acks.runs > limit) return undefined;
    const ranges = acks.drain();
    const history = this.#history();
    if (history !== undefined && ranges.length < limit) ranges.push(history);
    // The flush timer stays armed and finds nothing to send: a clear and a set per exchange cost more (measured,
    // bench/round-trip-cpu.ts) than one empty wakeup per ackDelay, and ACKs queued meanwhile keep their bound.
    this.stats.piggybackedAcks++;
    return ranges;
  }

  /** Clears the ACK timer and frees every buffer (the channel is closing). */
  close(): void {
    this.#closed = true;
    if (this.#ackTimer !== undefined) this.#context.clock.clearTimer(this.#ackTimer);
    this.#ackTimer = undefined;
    this.#acks.clear();
    this.#reassembler?.reset();
  }

  /**
   * Acknowledgements of a message in progress (a fragment without `LFR`: bulk data) go out after the current
   * turn's I/O, one ACK datagram for the whole burst. Those of small messages (request/response traffic) wait
   * up to `ackDelay` or until `ackEvery` are pending, so one ACK datagram covers several exchanges; the
   * peer's probe timeout allows for that delay.
   */
  #queueAck(seq: number, urgent: boolean): void {
    const { clock, options } = this.#context;
    this.#acks.add(seq);
    if (urgent || this.#acks.size >= options.ackEvery || options.ackDelay === 0) {
      if (this.#ackTimer !== undefined && this.#ackDelayed) {
        clock.clearTimer(this.#ackTimer);
        this.#ackTimer = undefined;
      }
      this.#ackDelayed = false;
      this.#ackTimer ??= clock.setTimer(() => this.#flushAcks(), 0);
    } else if (this.#ackTimer === undefined) {
      this.#ackDelayed = true;
      this.#ackTimer = clock.setTimer(() => this.#flushAcks(), options.ackDelay);
    }
  }

  #queueAccepting(): void {
    const seq = this.#acceptingSeq;
    if (seq < 0) return;
    this.#acceptingSeq = -1;
    this.#queueAck(seq, this.#acceptingUrgent);
  }

  #flushAcks(): void {
    this.#ackTimer = undefined;
    if (this.#closed) return;
    const o = this.#context.options;
    this.#acks.flush(o.maxAckRanges, this.#context.maxAckPayload, this.#history(), (seq, ranges) => {
      this.stats.ackDatagramsSent++;
      this.#context.sendAck(seq, ranges.length > 0 ? ranges : undefined);
    });
  }

  /** The last `ackHistory` in-order numbers as one range: re-acknowledged so a lost ACK costs no retransmission. */
  #history(): AckRange | undefined {
    const r = this.#reassembler;
    if (r === undefined || this.#peerInitialSeq === undefined) return undefined;
    const delivered = (r.nextSeq - this.#peerInitialSeq - 1) & 0xffff;
    const n = Math.min(this.#context.options.ackHistory, delivered);
    return n > 0 ? { first: (r.nextSeq - n) & 0xffff, count: n } : undefined;
  }
}
