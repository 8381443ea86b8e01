import { type FragmentError, Reassembler, type ReassemblerStats, seqAdd } from '@xpp/fragment';
import { type AckRange, Flag, type Message, WireError, decodeMessage } from '@xpp/wire';
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
  messagesReceived: number;
  /** Duplicate SYNs; duplicate fragments are the reassembler's. */
  duplicates: number;
}

/**
 * The receive path of a channel (spec §5, §6): the peer's SYN, in-order reassembly of reliable fragments,
 * decoding, and the acknowledgements, batched into as few ACK datagrams as the traffic allows (delayed ACK).
 */
export class Receiver {
  readonly stats: ReceiverStats = { ackDatagramsSent: 0, messagesReceived: 0, duplicates: 0 };
  readonly #context: ReceiverContext;
  readonly #acks = new AckBatch();
  #reassembler: Reassembler | undefined;
  #peerInitialSeq: number | undefined;
  #ackTimer: TimerHandle | undefined;
  #ackDelayed = false;
  #closed = false;

  constructor(context: ReceiverContext) {
    this.#context = context;
  }

  /** True once the peer's SYN is in. */
  get peerSynSeen(): boolean {
    return this.#peerInitialSeq !== undefined;
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
      onMessage: (bytes) => this.deliver(bytes, true),
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
    if (reassembler.accept(seq, last, payload) !== 'dropped') this.#queueAck(seq, !last);
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

  #flushAcks(): void {
    this.#ackTimer = undefined;
    if (this.#closed) return;
    const r = this.#reassembler;
    const o = this.#context.options;
    let history: AckRange | undefined;
    if (r !== undefined && this.#peerInitialSeq !== undefined) {
      const delivered = (r.nextSeq - this.#peerInitialSeq - 1) & 0xffff;
      const n = Math.min(o.ackHistory, delivered);
      if (n > 0) history = { first: (r.nextSeq - n) & 0xffff, count: n };
    }
    this.#acks.flush(o.maxAckRanges, this.#context.maxAckPayload, history, (seq, ranges) => {
      this.stats.ackDatagramsSent++;
      this.#context.sendAck(seq, ranges.length > 0 ? ranges : undefined);
    });
  }
}
