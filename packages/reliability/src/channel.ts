import {
  FragmentError,
  Fragmenter,
  HELD_FRAGMENT_OVERHEAD,
  REASSEMBLY_DROP_REASONS,
  Reassembler,
  seqAdd,
  seqDiff,
} from '@xpp/fragment';
import {
  type AckRange,
  Flag,
  type Message,
  WireError,
  decodeAckRanges,
  decodeFragment,
  decodeMessage,
  encodeAckRanges,
  encodeMessage,
  messageSize,
  FRAGMENT_HEADER_SIZE,
  ACK_RANGE_SIZE,
} from '@xpp/wire';
import { type Clock, type TimerHandle, systemClock } from './clock.js';
import { CongestionWindow } from './congestion.js';
import { ReliabilityError, abortError } from './errors.js';
import { AckBatch } from './internal/ack-batch.js';
import { AsyncQueue } from './internal/async-queue.js';
import { Emitter } from './internal/emitter.js';
import { LossDetector } from './internal/loss-detector.js';
import { writeHeader } from './internal/header.js';
import {
  FragmentState,
  type Outgoing,
  SendWindow,
  type SentFragment,
  describe,
} from './internal/send-window.js';
import type { DatagramPort } from './port.js';
import { RtoEstimator } from './rto.js';
import {
  CHANNEL_DROP_REASONS,
  type ChannelDropReason,
  type ChannelEvents,
  type ChannelOptions,
  type ChannelStats,
  type DropReason,
  type ReceivedMessage,
  type SendOptions,
} from './channel-types.js';
import {
  type ResolvedChannelOptions,
  checkOption,
  resolveChannelOptions,
} from './internal/channel-options.js';

const NOOP = (): void => {};

/**
 * One session's delivery engine (spec §5, §6): sequence numbers, per-fragment ACKs with range batching, RFC 6298
 * retransmission, a congestion window, duplicate suppression, in-order reassembly, keepalive. Pure: it does I/O
 * only through its {@link DatagramPort} and time only through its {@link Clock}; feed it received datagrams with
 * {@link receive}.
 */
export class ReliableChannel {
  readonly localId: number;
  readonly remoteId: number;
  readonly initialSeq: number;

  readonly #port: DatagramPort;
  readonly #clock: Clock;
  readonly #fragmenter: Fragmenter;
  readonly #rto: RtoEstimator;
  readonly #cwnd: CongestionWindow;
  readonly #events = new Emitter<ChannelEvents>();
  readonly #acks = new AckBatch();
  readonly #iterators = new Set<AsyncQueue<ReceivedMessage>>();
  readonly #pending = new Set<Outgoing>();
  readonly #o: ResolvedChannelOptions;
  readonly #allocate: (size: number) => Uint8Array;
  readonly #maxOutstanding: number;

  // send side
  #queue: Outgoing[] = [];
  #queueHead = 0;
  #queuedOctets = 0;
  readonly #window: SendWindow;
  #inFlight = 0;
  #lost: number[] = [];
  #lostHead = 0;
  readonly #losses: LossDetector<SentFragment>;
  // Losses among transmissions older than this belong to a window already halved for.
  #recoveryPoint = 0;
  #synAcked: boolean;
  #synQueued = false;

  // receive side
  #reassembler: Reassembler | undefined;
  #peerInitialSeq: number | undefined;
  #lastReceived: number;
  #keepaliveOut = false;
  #misses = 0;

  // timers
  #rtoTimer: TimerHandle | undefined;
  #rtoDeadline = Number.POSITIVE_INFINITY;
  #probeDeadline = Number.POSITIVE_INFINITY;
  #rtoTimerDue = 0;
  #probeStart = 0;
  #ackTimer: TimerHandle | undefined;
  #ackDelayed = false;
  #houseTimer: TimerHandle | undefined;
  #openTimer: TimerHandle | undefined;

  #opened = false;
  #closed = false;
  #closeError: ReliabilityError | undefined;
  readonly #stats = {
    datagramsSent: 0,
    datagramsReceived: 0,
    retransmits: 0,
    fastRetransmits: 0,
    probes: 0,
    timeouts: 0,
    ackDatagramsSent: 0,
    keepalivesSent: 0,
    messagesSent: 0,
    messagesReceived: 0,
    duplicates: 0,
  };
  readonly #drops = Object.fromEntries(CHANNEL_DROP_REASONS.map((r) => [r, 0])) as Record<
    ChannelDropReason,
    number
  >;

  constructor(options: ChannelOptions) {
    this.localId = options.localId;
    this.remoteId = options.remoteId;
    this.#port = options.port;
    this.#clock = options.clock ?? systemClock;
    this.#o = resolveChannelOptions(options);
    this.#allocate = options.allocate ?? ((size) => new Uint8Array(size));
    try {
      this.#fragmenter = new Fragmenter({
        maxDatagramSize: this.#o.maxDatagramSize,
        allocate: this.#allocate,
      });
    } catch (cause) {
      throw new ReliabilityError('INVALID_OPTION', (cause as Error).message, { cause });
    }
    this.#rto = new RtoEstimator({
      initialRto: this.#o.initialRto,
      minRto: this.#o.minRto,
      maxRto: this.#o.maxRto,
    });
    // Never more in flight than the peer can hold ahead of its next in-order fragment.
    const peerFragments = Math.floor(
      this.#o.peerReceiveWindow / (this.#fragmenter.maxPayload + HELD_FRAGMENT_OVERHEAD),
    );
    this.#maxOutstanding = Math.max(1, Math.min(this.#o.peerMaxFragmentsAhead, peerFragments));
    this.#losses = new LossDetector<SentFragment>(this.#o.dupThreshold);
    this.#cwnd = new CongestionWindow({
      initialWindow: this.#o.initialWindow,
      maxWindow: this.#maxOutstanding,
    });

    const random = options.random ?? Math.random;
    this.initialSeq = options.initialSeq ?? Math.floor(random() * 0x10000) & 0xffff;
    checkOption('initialSeq', this.initialSeq, 0xffff);
    const established = options.peerInitialSeq !== undefined && options.initialSeq !== undefined;
    this.#synAcked = established;
    this.#window = new SendWindow(established ? seqAdd(this.initialSeq, 1) : this.initialSeq);
    if (established) this.#acceptPeerSyn(options.peerInitialSeq as number);
    this.#lastReceived = this.#clock.now();
    this.#armHousekeeping(this.#o.keepaliveInterval);
  }

  /** True once both SYNs are through (or the channel was created established). */
  get isOpen(): boolean {
    return this.#opened;
  }

  get isClosed(): boolean {
    return this.#closed;
  }

  on<K extends keyof ChannelEvents>(event: K, listener: ChannelEvents[K]): () => void {
    return this.#events.on(event, listener);
  }

  off<K extends keyof ChannelEvents>(event: K, listener: ChannelEvents[K]): void {
    this.#events.off(event, listener);
  }

  /**
   * Sends this side's SYN (once) and resolves when the session is open: the own SYN acknowledged and the
   * peer's received (spec §4). Rejects with `OPEN_TIMEOUT` after `giveUpAfter`, `ABORTED`, or `CLOSED`.
   */
  open(options: { signal?: AbortSignal } = {}): Promise<void> {
    if (this.#opened) return Promise.resolve();
    if (this.#closed) return Promise.reject(this.#closedError());
    const signal = options.signal;
    if (signal?.aborted === true) return Promise.reject(abortError(signal, 'open'));
    this.#ensureSyn();
    return new Promise<void>((resolve, reject) => {
      const offOpen = this.#events.on('open', () => done(undefined));
      const offClose = this.#events.on('close', (error) =>
        done(
          error !== undefined && error.code === 'TIMEOUT'
            ? new ReliabilityError('OPEN_TIMEOUT', `SYN not acknowledged: ${error.message}`, { cause: error })
            : (error ?? this.#closedError()),
        ),
      );
      const onAbort = (): void => done(abortError(signal as AbortSignal, 'open'));
      signal?.addEventListener('abort', onAbort, { once: true });
      const done = (error: ReliabilityError | undefined): void => {
        offOpen();
        offClose();
        signal?.removeEventListener('abort', onAbort);
        if (error === undefined) resolve();
        else reject(error);
      };
    });
  }

  /**
   * Sends one message (encoded, or a {@link Message} to encode). Reliable (default): resolves when every
   * fragment is acknowledged, rejects with `TIMEOUT` (naming the message), `TOO_LARGE`, `QUEUE_FULL`, `CLOSED`
   * or `ABORTED`. Aborting before the first fragment left withdraws the message; after, the rest still goes
   * out (the sequence must stay gap-free) but the promise rejects at once. Unreliable: one datagram, resolved
   * when handed to the port.
   */
  send(message: Message | Uint8Array, options: SendOptions = {}): Promise<void> {
    if (this.#closed) return Promise.reject(this.#closedError());
    const signal = options.signal;
    if (signal?.aborted === true) return Promise.reject(abortError(signal, 'send'));
    let bytes: Uint8Array;
    // A message that fits one datagram is encoded straight into it, behind room for the fragment header.
    let frame: Uint8Array | undefined;
    try {
      if (message instanceof Uint8Array) bytes = message;
      else {
        const size = messageSize(message);
        if (size <= this.#fragmenter.maxPayload) {
          frame = this.#allocate(FRAGMENT_HEADER_SIZE + size);
          bytes = encodeMessage(message, frame, FRAGMENT_HEADER_SIZE);
        } else bytes = encodeMessage(message, this.#allocate(size));
      }
    } catch (cause) {
      return Promise.reject(
        new ReliabilityError('INVALID_OPTION', `cannot encode message: ${String(cause)}`, { cause }),
      );
    }
    if (bytes.length > this.#o.maxMessageSize) {
      return Promise.reject(
        new ReliabilityError(
          'TOO_LARGE',
          `message of ${bytes.length} octets exceeds ${this.#o.maxMessageSize}`,
        ),
      );
    }
    if (options.reliable === false) return this.#sendUnreliable(bytes, frame);
    if (this.#queuedOctets + bytes.length > this.#o.maxQueuedOctets) {
      return Promise.reject(
        new ReliabilityError(
          'QUEUE_FULL',
          `queuing ${bytes.length} octets would exceed maxQueuedOctets ${this.#o.maxQueuedOctets}`,
        ),
      );
    }
    const outgoing = this.#outgoing(bytes, false);
    outgoing.frame = frame;
    this.#queue.push(outgoing);
    this.#ensureSyn();
    const promise = new Promise<void>((resolve, reject) => {
      outgoing.resolve = resolve;
      outgoing.reject = reject;
    });
    if (signal !== undefined) {
      const onAbort = (): void => this.#abort(outgoing, signal);
      signal.addEventListener('abort', onAbort, { once: true });
      const wrappedResolve = outgoing.resolve;
      const wrappedReject = outgoing.reject;
      outgoing.resolve = () => {
        signal.removeEventListener('abort', onAbort);
        wrappedResolve();
      };
      outgoing.reject = (error) => {
        signal.removeEventListener('abort', onAbort);
        wrappedReject(error);
      };
    }
    this.#pump();
    return promise;
  }

  /**
   * Received messages in order (reliable ones in message order, unreliable ones as they come). Up to
   * `maxBufferedMessages` wait for a slow consumer; more are dropped and counted (`receive-buffer-full`).
   * Ends when the channel closes (throwing its error, if any) or when `signal` fires (`ABORTED`).
   */
  messages(options: { signal?: AbortSignal } = {}): AsyncIterableIterator<ReceivedMessage> {
    const queue = new AsyncQueue<ReceivedMessage>(this.#o.maxBufferedMessages);
    if (this.#closed) queue.end(this.#closeError);
    else this.#iterators.add(queue);
    return queue.iterator(options.signal, () => this.#iterators.delete(queue));
  }

  /** Feeds one datagram received for this session. Never throws: bad input is dropped and counted. */
  receive(datagram: Uint8Array): void {
    this.#stats.datagramsReceived++;
    if (this.#closed) {
      this.#drops.closed++;
      return;
    }
    let fragment;
    try {
      fragment = decodeFragment(datagram);
    } catch (error) {
      if (!WireError.is(error)) throw error;
      this.#drops['bad-header']++;
      return;
    }
    if (fragment.localId !== this.remoteId || fragment.remoteId !== this.localId) {
      this.#drops['wrong-session']++;
      return;
    }
    this.#lastReceived = this.#clock.now();
    this.#misses = 0;
    this.#keepaliveOut = false;
    const flags = fragment.flags;
    if ((flags & Flag.ACK) !== 0) {
      if ((flags & Flag.KPA) === 0) this.#onAck(fragment.seq, fragment.payload);
      return;
    }
    if ((flags & Flag.KPA) !== 0) {
      this.#sendControl(Flag.KPA | Flag.ACK, fragment.seq);
      return;
    }
    if ((flags & Flag.REL) !== 0) {
      this.#onReliable(fragment.seq, flags, fragment.payload);
      return;
    }
    if ((flags & Flag.LFR) === 0) {
      this.#drops['unreliable-not-last']++;
      return;
    }
    this.#deliver(fragment.payload, false);
  }

  get stats(): ChannelStats {
    const r = this.#reassembler?.stats;
    const drops = { ...this.#drops } as Record<DropReason, number>;
    for (const reason of REASSEMBLY_DROP_REASONS) drops[reason] = r?.drops[reason] ?? 0;
    let queuedOctets = 0;
    for (const m of this.#pending) queuedOctets += m.bytes.length;
    return {
      srtt: this.#rto.srtt,
      rttvar: this.#rto.rttvar,
      rto: this.#rto.rto,
      cwnd: this.#cwnd.window,
      ssthresh: this.#cwnd.ssthresh,
      inFlight: this.#inFlight,
      outstanding: this.#window.outstanding,
      pendingMessages: this.#pending.size,
      queuedOctets,
      ...this.#stats,
      duplicates: this.#stats.duplicates + (r?.duplicates ?? 0),
      heldFragments: r?.heldFragments ?? 0,
      heldOctets: r?.heldOctets ?? 0,
      partialOctets: r?.partialOctets ?? 0,
      timers:
        (this.#rtoTimer === undefined ? 0 : 1) +
        (this.#ackTimer === undefined ? 0 : 1) +
        (this.#houseTimer === undefined ? 0 : 1) +
        (this.#openTimer === undefined ? 0 : 1),
      drops,
    };
  }

  /**
   * Ends the channel: every pending send rejects (`CLOSED`, or `error` itself for the message that caused it),
   * timers are cleared and all buffers freed. Idempotent.
   */
  close(error?: ReliabilityError): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#closeError = error;
    for (const timer of [this.#rtoTimer, this.#ackTimer, this.#houseTimer, this.#openTimer]) {
      if (timer !== undefined) this.#clock.clearTimer(timer);
    }
    this.#rtoTimer = this.#ackTimer = this.#houseTimer = this.#openTimer = undefined;
    const closed = this.#closedError();
    for (const m of [...this.#pending]) this.#settle(m, closed);
    this.#pending.clear();
    this.#queue = [];
    this.#queueHead = 0;
    this.#queuedOctets = 0;
    this.#window.clear();
    this.#lost = [];
    this.#lostHead = 0;
    this.#losses.clear();
    this.#inFlight = 0;
    this.#acks.clear();
    this.#reassembler?.reset();
    for (const queue of this.#iterators) queue.end(error);
    this.#iterators.clear();
    this.#events.emit('close', error);
    this.#events.clear();
  }

  // ---- send side ----

  /** Queues this side's SYN ahead of any data, once (spec §4); data waits until it is acknowledged. */
  #ensureSyn(): void {
    if (this.#synQueued || this.#synAcked) return;
    this.#synQueued = true;
    const syn = this.#outgoing(new Uint8Array(0), true);
    this.#queue.splice(this.#queueHead, 0, syn);
    syn.reject = (error) => this.close(error);
    this.#openTimer = this.#clock.setTimer(() => {
      this.#openTimer = undefined;
      if (!this.#opened) {
        this.close(new ReliabilityError('OPEN_TIMEOUT', `session not open after ${this.#o.giveUpAfter} ms`));
      }
    }, this.#o.giveUpAfter);
    this.#pump();
  }

  #outgoing(bytes: Uint8Array, syn: boolean): Outgoing {
    const outgoing: Outgoing = {
      bytes,
      count: syn ? 1 : this.#fragmenter.count(bytes.length),
      syn,
      frame: undefined,
      next: 0,
      acked: 0,
      done: false,
      resolve: NOOP,
      reject: NOOP,
    };
    this.#pending.add(outgoing);
    this.#queuedOctets += bytes.length;
    return outgoing;
  }

  #sendUnreliable(bytes: Uint8Array, frame: Uint8Array | undefined): Promise<void> {
    let datagram: Uint8Array;
    if (frame !== undefined) {
      datagram = frame;
      writeHeader(datagram, Flag.LFR, this.#window.next, this.localId, this.remoteId);
    } else {
      try {
        datagram = this.#fragmenter.unreliable(bytes, this.#window.next, this);
      } catch (cause) {
        if (!FragmentError.is(cause)) throw cause;
        return Promise.reject(new ReliabilityError('TOO_LARGE', cause.message, { cause }));
      }
    }
    this.#transmit(datagram);
    return Promise.resolve();
  }

  #abort(outgoing: Outgoing, signal: AbortSignal): void {
    if (outgoing.done) return;
    if (outgoing.next === 0) {
      // Nothing of it is on the wire yet: withdraw it.
      const at = this.#queue.indexOf(outgoing, this.#queueHead);
      if (at >= 0) this.#queue.splice(at, 1);
    }
    this.#settle(outgoing, abortError(signal, `send of ${describe(outgoing)}`));
  }

  #settle(outgoing: Outgoing, error?: ReliabilityError): void {
    if (outgoing.done) return;
    outgoing.done = true;
    this.#pending.delete(outgoing);
    this.#queuedOctets -= outgoing.bytes.length;
    if (error === undefined) outgoing.resolve();
    else outgoing.reject(error);
  }

  #transmit(datagram: Uint8Array): void {
    this.#stats.datagramsSent++;
    this.#port.send(datagram);
  }

  /** An ACK or KPA datagram; its fields are this channel's own, already valid, so no encoder checks. */
  #sendControl(flags: number, seq: number, ranges?: readonly AckRange[]): void {
    const datagram = this.#allocate(
      FRAGMENT_HEADER_SIZE + (ranges === undefined ? 0 : ranges.length * ACK_RANGE_SIZE),
    );
    writeHeader(datagram, flags, seq, this.localId, this.remoteId);
    if (ranges !== undefined) encodeAckRanges(ranges, datagram, FRAGMENT_HEADER_SIZE);
    this.#transmit(datagram);
  }

  /** Sends what the congestion window, the peer's bounds and the handshake allow: retransmissions first. */
  #pump(): void {
    const cwnd = this.#cwnd;
    while (this.#inFlight < cwnd.window && !this.#closed) {
      if (this.#lostHead < this.#lost.length) {
        const seq = this.#lost[this.#lostHead++] as number;
        const entry = this.#window.at(seq);
        if (entry?.state === FragmentState.Lost && entry.datagram !== undefined) {
          this.#send(entry, entry.datagram, true, this.#clock.now());
        }
        continue;
      }
      if (this.#lostHead > 0) {
        this.#lost = [];
        this.#lostHead = 0;
      }
      const outgoing = this.#queue[this.#queueHead];
      if (outgoing === undefined) break;
      if (!outgoing.syn && !this.#synAcked) break;
      if (
        this.#window.outstanding >= this.#maxOutstanding ||
        this.#window.octets >= this.#o.peerReceiveWindow
      )
        break;
      this.#assign(outgoing);
    }
    if (this.#lostHead >= this.#lost.length && this.#lostHead > 0) {
      this.#lost = [];
      this.#lostHead = 0;
    }
    if (this.#inFlight > 0) this.#armRto();
  }

  #assign(outgoing: Outgoing): void {
    const seq = this.#window.next;
    const index = outgoing.next++;
    if (outgoing.next === outgoing.count) {
      this.#queue[this.#queueHead++] = undefined as unknown as Outgoing;
      if (this.#queueHead > 256 && this.#queueHead * 2 > this.#queue.length) {
        this.#queue = this.#queue.slice(this.#queueHead);
        this.#queueHead = 0;
      }
    }
    // Encoded here, when the window lets it go, with this channel's own (valid) header fields.
    const piece = outgoing.syn ? undefined : this.#fragmenter.piece(outgoing.bytes, index);
    const datagram = this.#allocate(FRAGMENT_HEADER_SIZE + (piece === undefined ? 0 : piece.length));
    const flags = outgoing.syn
      ? Flag.SYN | Flag.REL
      : Flag.REL | (outgoing.next === outgoing.count ? Flag.LFR : 0);
    writeHeader(datagram, flags, seq, this.localId, this.remoteId);
    if (piece !== undefined) datagram.set(piece, FRAGMENT_HEADER_SIZE);
    const now = this.#clock.now();
    const entry: SentFragment = {
      seq,
      message: outgoing,
      index,
      cost: datagram.length - FRAGMENT_HEADER_SIZE + HELD_FRAGMENT_OVERHEAD,
      datagram,
      state: FragmentState.InFlight,
      sentAt: now,
      firstSentAt: now,
      retransmitted: false,
      timeouts: 0,
      txOrder: -1,
    };
    this.#window.push(entry);
    this.#send(entry, datagram, false, now);
  }

  #send(entry: SentFragment, datagram: Uint8Array, retransmission: boolean, now: number): void {
    if (retransmission) {
      entry.retransmitted = true;
      this.#stats.retransmits++;
    }
    entry.state = FragmentState.InFlight;
    entry.sentAt = now;
    this.#losses.sent(entry);
    this.#inFlight++;
    this.#transmit(datagram);
  }

  #onAck(seq: number, payload: Uint8Array): void {
    const window = this.#window;
    const outstanding = window.outstanding;
    if (outstanding === 0) return;
    let acked = this.#ackOne(seq, true) ? 1 : 0;
    if (payload.length > 0) {
      let ranges: AckRange[];
      try {
        ranges = decodeAckRanges(payload);
      } catch (error) {
        if (!WireError.is(error)) throw error;
        this.#drops['bad-ack']++;
        ranges = [];
      }
      // Hostile ranges cannot make us loop: at most twice the outstanding window per datagram.
      let budget = 2 * outstanding + 2;
      for (const range of ranges) {
        const start = Math.max(seqDiff(range.first, window.una), 0);
        const end = Math.min(seqDiff(range.first, window.una) + range.count, outstanding);
        for (let off = start; off < end; off++) {
          if (--budget < 0) break;
          if (this.#ackOne((window.una + off) & 0xffff, false)) acked++;
        }
        if (budget < 0) {
          this.#drops['ack-budget']++;
          break;
        }
      }
    }
    if (acked === 0) return;
    window.advance();
    this.#detectLosses();
    if (window.outstanding > 0) this.#restartRto();
    else this.#rtoDeadline = this.#probeDeadline = Number.POSITIVE_INFINITY;
    this.#pump();
  }

  /**
   * Marks one fragment acknowledged. Only the ACK header's own number gives an RTT sample: ranges may repeat
   * old acknowledgements (the history that covers lost ACKs), whose age is not a round trip.
   */
  #ackOne(seq: number, sample: boolean): boolean {
    const entry = this.#window.at(seq);
    if (entry === undefined || entry.state === FragmentState.Acked) return false;
    if (entry.state === FragmentState.InFlight) this.#inFlight--;
    entry.state = FragmentState.Acked;
    entry.datagram = undefined;
    if (sample && !entry.retransmitted) this.#rto.sample(this.#clock.now() - entry.sentAt);
    this.#cwnd.onAck();
    this.#losses.acked(entry);
    const m = entry.message;
    if (++m.acked === m.count) {
      if (m.syn) {
        this.#synAcked = true;
        this.#settle(m);
        this.#checkOpen();
      } else {
        this.#stats.messagesSent++;
        this.#settle(m);
      }
    }
    return true;
  }

  /**
   * Fast retransmit (spec §5.2), with early retransmit (RFC 5827) when fewer than four fragments are
   * outstanding and three later ACKs cannot come; the window halves at most once per window of transmissions.
   */
  #detectLosses(): void {
    const outstanding = this.#window.outstanding;
    this.#losses.detect(
      (entry) => entry.state === FragmentState.InFlight,
      (entry) => {
        entry.state = FragmentState.Lost;
        this.#inFlight--;
        this.#lost.push(entry.seq);
        this.#stats.fastRetransmits++;
        if (entry.txOrder >= this.#recoveryPoint) {
          this.#cwnd.onLoss();
          this.#recoveryPoint = this.#losses.nextOrder;
        }
      },
      Math.min(this.#o.dupThreshold, outstanding - 1),
    );
  }

  /** Starts the retransmission timer for newly outstanding data unless it already runs (RFC 6298 §5.1). */
  #armRto(): void {
    if (this.#rtoDeadline === Number.POSITIVE_INFINITY) this.#restartRto();
  }

  /** Arms the one retransmission timer for `due`, unless it is already armed for that time or earlier. */
  #setRtoTimer(due: number): void {
    if (this.#rtoTimer !== undefined) {
      // Deadlines usually move later, which the timer handles lazily when it fires; only an earlier one re-arms.
      if (this.#rtoTimerDue <= due) return;
      this.#clock.clearTimer(this.#rtoTimer);
    }
    this.#rtoTimerDue = due;
    this.#rtoTimer = this.#clock.setTimer(() => this.#onRtoTimer(), due - this.#clock.now());
  }

  /** New deadlines after progress: the RTO, and before it one tail-loss probe once an RTT is known. */
  #restartRto(): void {
    const now = this.#clock.now();
    const rto = this.#rto.rto;
    this.#rtoDeadline = now + rto;
    const srtt = this.#rto.srtt;
    // the peer may hold an ACK back for up to its ackDelay (assumed equal to ours)
    const pto = srtt === undefined ? rto : Math.max(2 * srtt, this.#o.minProbeTimeout) + this.#o.ackDelay;
    this.#probeDeadline = pto < rto ? now + pto : Number.POSITIVE_INFINITY;
    this.#probeStart = now;
    this.#setRtoTimer(Math.min(this.#rtoDeadline, this.#probeDeadline));
  }

  #onRtoTimer(): void {
    this.#rtoTimer = undefined;

    if (this.#closed || this.#window.outstanding === 0) return;
    const now = this.#clock.now();
    if (now >= this.#rtoDeadline) {
      this.#timeout(now);
      return;
    }
    if (now >= this.#probeDeadline) {
      this.#probe(now);
      // Further probes at doubling intervals until the timeout is due, as QUIC's PTO backs off (RFC 9002
      // §6.2): on a lossy path a lost probe or probe ACK is common, and a probe costs one datagram where a
      // timeout costs the whole window.
      const wait = 2 * (this.#probeDeadline - this.#probeStart);
      this.#probeStart = now;
      this.#probeDeadline = now + wait < this.#rtoDeadline ? now + wait : Number.POSITIVE_INFINITY;
    }
    this.#setRtoTimer(Math.min(this.#rtoDeadline, this.#probeDeadline));
  }

  /**
   * Tail-loss probe: resend the oldest unacknowledged fragment without touching the window. If it arrived,
   * its duplicate is acknowledged again together with the receiver's in-order history, which recovers lost
   * ACKs; if not, this fills the hole a full timeout later would have.
   */
  #probe(now: number): void {
    const entry = this.#window.at(this.#window.una);
    if (entry === undefined || entry.state === FragmentState.Acked) return;
    this.#stats.probes++;
    if (entry.datagram === undefined) return;
    if (entry.state === FragmentState.Lost) {
      // Declared lost but held back by the window: a probe may exceed the window (RFC 8985 §7.3).
      this.#send(entry, entry.datagram, true, now);
      return;
    }
    entry.retransmitted = true;
    entry.sentAt = now;
    this.#losses.sent(entry);
    this.#stats.retransmits++;
    this.#transmit(entry.datagram);
  }

  /** RFC 6298 §5.4–5.6 plus the give-up rule of spec §5.2, then go-back to the unacknowledged fragments. */
  #timeout(now: number): void {
    const o = this.#o;
    for (const entry of this.#window.unacked()) {
      const elapsed = now - entry.firstSentAt;
      if (
        (entry.state === FragmentState.InFlight && entry.timeouts >= o.maxRetries) ||
        elapsed >= o.giveUpAfter
      ) {
        this.#giveUp(entry, elapsed);
        return;
      }
    }
    this.#stats.timeouts++;
    this.#rtoDeadline = this.#probeDeadline = Number.POSITIVE_INFINITY;
    this.#rto.backoff();
    this.#cwnd.onTimeout(this.#inFlight);
    this.#lost = [];
    this.#lostHead = 0;
    for (const entry of this.#window.unacked()) {
      if (entry.state === FragmentState.InFlight) entry.timeouts++;
      entry.state = FragmentState.Lost;
      this.#lost.push(entry.seq);
    }
    this.#inFlight = 0;
    this.#losses.clear();
    this.#recoveryPoint = this.#losses.nextOrder;
    this.#pump();
  }

  #giveUp(entry: SentFragment, elapsed: number): void {
    const m = entry.message;
    const error = new ReliabilityError(
      'TIMEOUT',
      `${describe(m)} not acknowledged: fragment ${entry.index + 1}/${m.count} (sequence ${entry.seq}) ` +
        `after ${entry.timeouts} retries in ${Math.round(elapsed)} ms`,
    );
    this.#settle(m, error);
    this.close(error);
  }

  // ---- receive side ----

  #onReliable(seq: number, flags: number, payload: Uint8Array): void {
    if ((flags & Flag.SYN) !== 0) {
      if (this.#peerInitialSeq === undefined) this.#acceptPeerSyn(seq);
      else if (seq !== this.#peerInitialSeq) {
        this.#drops['unexpected-syn']++;
        return;
      } else this.#stats.duplicates++;
      this.#queueAck(seq, true);
      return;
    }
    const reassembler = this.#reassembler;
    if (reassembler === undefined) {
      this.#drops['no-syn']++;
      return;
    }
    const last = (flags & Flag.LFR) !== 0;
    if (reassembler.accept(seq, last, payload) !== 'dropped') this.#queueAck(seq, !last);
  }

  #acceptPeerSyn(seq: number): void {
    this.#peerInitialSeq = seq;
    this.#reassembler = new Reassembler({
      initialSeq: seqAdd(seq, 1),
      clock: this.#clock,
      onMessage: (bytes) => this.#deliver(bytes, true),
      receiveWindow: this.#o.receiveWindow,
      maxMessageSize: this.#o.maxMessageSize,
      maxFragmentsAhead: this.#o.maxFragmentsAhead,
      partialTimeout: this.#o.partialTimeout,
    });
    this.#checkOpen();
  }

  #checkOpen(): void {
    if (this.#opened || !this.#synAcked || this.#peerInitialSeq === undefined) return;
    this.#opened = true;
    if (this.#openTimer !== undefined) {
      this.#clock.clearTimer(this.#openTimer);
      this.#openTimer = undefined;
    }
    this.#events.emit('open');
    this.#pump();
  }

  /**
   * Acknowledgements of a message in progress (a fragment without `LFR`: bulk data) go out after the current
   * turn's I/O, one ACK datagram for the whole burst. Those of small messages (request/response traffic) wait
   * up to `ackDelay` or until `ackEvery` are pending, so one ACK datagram covers several exchanges; the
   * peer's probe timeout allows for that delay.
   */
  #queueAck(seq: number, urgent: boolean): void {
    this.#acks.add(seq);
    if (urgent || this.#acks.size >= this.#o.ackEvery || this.#o.ackDelay === 0) {
      if (this.#ackTimer !== undefined && this.#ackDelayed) {
        this.#clock.clearTimer(this.#ackTimer);
        this.#ackTimer = undefined;
      }
      this.#ackDelayed = false;
      this.#ackTimer ??= this.#clock.setTimer(() => this.#flushAcks(), 0);
    } else if (this.#ackTimer === undefined) {
      this.#ackDelayed = true;
      this.#ackTimer = this.#clock.setTimer(() => this.#flushAcks(), this.#o.ackDelay);
    }
  }

  #flushAcks(): void {
    this.#ackTimer = undefined;
    if (this.#closed) return;
    const r = this.#reassembler;
    let history: AckRange | undefined;
    if (r !== undefined && this.#peerInitialSeq !== undefined) {
      const delivered = (r.nextSeq - this.#peerInitialSeq - 1) & 0xffff;
      const n = Math.min(this.#o.ackHistory, delivered);
      if (n > 0) history = { first: (r.nextSeq - n) & 0xffff, count: n };
    }
    const maxPayload = this.#fragmenter.maxPayload;
    this.#acks.flush(this.#o.maxAckRanges, maxPayload, history, (seq, ranges) => {
      this.#stats.ackDatagramsSent++;
      this.#sendControl(Flag.ACK, seq, ranges.length > 0 ? ranges : undefined);
    });
  }

  #deliver(bytes: Uint8Array, reliable: boolean): void {
    let message: Message;
    try {
      message = decodeMessage(bytes, { maxMessageSize: this.#o.maxMessageSize });
    } catch (error) {
      if (!WireError.is(error)) throw error;
      this.#drops['bad-message']++;
      return;
    }
    this.#stats.messagesReceived++;
    const received: ReceivedMessage = { message, bytes, reliable };
    this.#events.emit('message', received);
    for (const queue of this.#iterators) if (!queue.push(received)) this.#drops['receive-buffer-full']++;
  }

  // ---- keepalive and partial-message timeout ----

  #armHousekeeping(delay: number): void {
    this.#houseTimer = this.#clock.setTimer(() => this.#housekeeping(), Math.max(delay, 1));
  }

  #housekeeping(): void {
    this.#houseTimer = undefined;
    if (this.#closed) return;
    const now = this.#clock.now();
    const partial = this.#reassembler?.checkTimeout();
    if (partial !== undefined) {
      this.close(new ReliabilityError('REASSEMBLY_TIMEOUT', partial.message, { cause: partial }));
      return;
    }
    const interval = this.#o.keepaliveInterval;
    let next = this.#lastReceived + interval - now;
    if (next <= 0) {
      if (this.#keepaliveOut && ++this.#misses >= this.#o.keepaliveMisses) {
        this.#events.emit('deadpeer');
        this.close(new ReliabilityError('PEER_DEAD', `${this.#misses} keepalives in a row went unanswered`));
        return;
      }
      this.#keepaliveOut = true;
      this.#stats.keepalivesSent++;
      this.#sendControl(Flag.KPA, this.#window.next);
      next = interval;
    }
    const deadline = this.#reassembler?.partialDeadline();
    if (deadline !== undefined) next = Math.min(next, deadline - now);
    this.#armHousekeeping(next);
  }

  #closedError(): ReliabilityError {
    return new ReliabilityError(
      'CLOSED',
      this.#closeError === undefined ? 'channel closed' : `channel closed: ${this.#closeError.message}`,
      this.#closeError === undefined ? {} : { cause: this.#closeError },
    );
  }
}
