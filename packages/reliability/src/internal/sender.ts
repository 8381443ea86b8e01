import { FragmentError, type Fragmenter, HELD_FRAGMENT_OVERHEAD, seqDiff } from '@xpp/fragment';
import { type AckRange, FRAGMENT_HEADER_SIZE, Flag, WireError, decodeAckRanges } from '@xpp/wire';
import type { ChannelDropReason } from '../channel-types.js';
import type { Clock } from '../clock.js';
import { ReliabilityError, abortError } from '../errors.js';
import { RtoEstimator } from '../rto.js';
import type { ResolvedChannelOptions } from './channel-options.js';
import { CongestionControl } from './congestion-control.js';
import { writeHeader } from './header.js';
import { RetransmitTimer } from './retransmit-timer.js';
import { FragmentState, type Outgoing, SendWindow, type SentFragment, describe } from './send-window.js';

const NOOP = (): void => {};
const NO_RANGES: readonly AckRange[] = [];

/** What the send path needs from its channel. */
export interface SenderContext {
  readonly clock: Clock;
  readonly options: Pick<
    ResolvedChannelOptions,
    | 'localId'
    | 'remoteId'
    | 'initialRto'
    | 'minRto'
    | 'maxRto'
    | 'initialWindow'
    | 'dupThreshold'
    | 'peerReceiveWindow'
    | 'peerMaxFragmentsAhead'
    | 'maxQueuedOctets'
    | 'maxRetries'
    | 'giveUpAfter'
    | 'minProbeTimeout'
    | 'ackDelay'
  >;
  readonly fragmenter: Fragmenter;
  readonly allocate: (size: number) => Uint8Array;
  /** Hands a datagram to the port. */
  transmit(datagram: Uint8Array): void;
  drop(reason: Extract<ChannelDropReason, 'bad-ack' | 'ack-budget'>): void;
  /** This side's SYN was acknowledged. */
  synAcked(): void;
  /** A message gave up (`TIMEOUT`): the session is over. */
  fail(error: ReliabilityError): void;
}

/** Counters of the send path, as reported in `ChannelStats`. */
export interface SenderStats {
  retransmits: number;
  fastRetransmits: number;
  probes: number;
  timeouts: number;
  messagesSent: number;
}

/**
 * The send path of a channel (spec §5): the queue of messages, sequence numbers, the send window, ACK
 * processing, fast retransmit, tail-loss probes and the RFC 6298 retransmission timeout, within the congestion
 * window and the peer's reassembly bounds. Does I/O only through {@link SenderContext.transmit}.
 */
export class Sender {
  readonly stats: SenderStats = {
    retransmits: 0,
    fastRetransmits: 0,
    probes: 0,
    timeouts: 0,
    messagesSent: 0,
  };
  readonly rto: RtoEstimator;
  readonly congestion: CongestionControl;
  readonly window: SendWindow;
  readonly #context: SenderContext;
  readonly #timer: RetransmitTimer;
  readonly #maxOutstanding: number;
  readonly #pending = new Set<Outgoing>();
  #queue: Outgoing[] = [];
  #queueHead = 0;
  #queuedOctets = 0;
  #inFlight = 0;
  #lost: number[] = [];
  #lostHead = 0;
  #synAcked: boolean;
  #synQueued = false;
  #closed = false;

  /** `start` is this side's first sequence number; `established` means the SYN needs no sending. */
  constructor(context: SenderContext, start: number, established: boolean) {
    this.#context = context;
    const o = context.options;
    this.rto = new RtoEstimator({ initialRto: o.initialRto, minRto: o.minRto, maxRto: o.maxRto });
    // Never more in flight than the peer can hold ahead of its next in-order fragment.
    const peerFragments = Math.floor(
      o.peerReceiveWindow / (context.fragmenter.maxPayload + HELD_FRAGMENT_OVERHEAD),
    );
    this.#maxOutstanding = Math.max(1, Math.min(o.peerMaxFragmentsAhead, peerFragments));
    this.congestion = new CongestionControl({
      initialWindow: o.initialWindow,
      maxWindow: this.#maxOutstanding,
      dupThreshold: o.dupThreshold,
    });
    this.#synAcked = established;
    this.window = new SendWindow(start);
    this.#timer = new RetransmitTimer({
      clock: context.clock,
      outstanding: () => !this.#closed && this.window.outstanding > 0,
      probe: (now) => this.#probe(now),
      timeout: (now) => this.#timeout(now),
    });
  }

  get synAcked(): boolean {
    return this.#synAcked;
  }

  /** Fragments sent and neither acknowledged nor declared lost. */
  get inFlight(): number {
    return this.#inFlight;
  }

  /** Messages accepted and not yet settled. */
  get pending(): ReadonlySet<Outgoing> {
    return this.#pending;
  }

  /** True while the retransmission timer holds a clock timer. */
  get timerArmed(): boolean {
    return this.#timer.armed;
  }

  /** Queues this side's SYN ahead of any data, once (spec §4); false if it already was (or needs none). */
  queueSyn(): boolean {
    if (this.#synQueued || this.#synAcked) return false;
    this.#synQueued = true;
    const syn = this.#outgoing(new Uint8Array(0), true);
    this.#queue.splice(this.#queueHead, 0, syn);
    syn.reject = (error) => this.#context.fail(error);
    return true;
  }

  /** Why a message of `length` octets cannot be queued now (`QUEUE_FULL`), or undefined if it can. */
  refuse(length: number): ReliabilityError | undefined {
    const max = this.#context.options.maxQueuedOctets;
    if (this.#queuedOctets + length <= max) return undefined;
    return new ReliabilityError('QUEUE_FULL', `queuing ${length} octets would exceed maxQueuedOctets ${max}`);
  }

  /**
   * Queues a reliable message (after {@link refuse} allowed it); the promise settles when every fragment is
   * acknowledged or the message fails. Nothing is sent until the next {@link pump}.
   */
  enqueue(bytes: Uint8Array, frame: Uint8Array | undefined, signal: AbortSignal | undefined): Promise<void> {
    const outgoing = this.#outgoing(bytes, false);
    outgoing.frame = frame;
    this.#queue.push(outgoing);
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
    return promise;
  }

  /** One unreliable datagram carrying the whole message (`frame`: already encoded behind header room). */
  sendUnreliable(bytes: Uint8Array, frame: Uint8Array | undefined): Promise<void> {
    const { localId, remoteId } = this.#context.options;
    let datagram: Uint8Array;
    if (frame !== undefined) {
      datagram = frame;
      writeHeader(datagram, Flag.LFR, this.window.next, localId, remoteId);
    } else {
      try {
        datagram = this.#context.fragmenter.unreliable(bytes, this.window.next, { localId, remoteId });
      } catch (cause) {
        if (!FragmentError.is(cause)) throw cause;
        return Promise.reject(new ReliabilityError('TOO_LARGE', cause.message, { cause }));
      }
    }
    this.#context.transmit(datagram);
    return Promise.resolve();
  }

  /** Sends what the congestion window, the peer's bounds and the handshake allow: retransmissions first. */
  pump(): void {
    const congestion = this.congestion;
    const window = this.window;
    const o = this.#context.options;
    while (this.#inFlight < congestion.window && !this.#closed) {
      if (this.#lostHead < this.#lost.length) {
        const seq = this.#lost[this.#lostHead++] as number;
        const entry = window.at(seq);
        if (entry?.state === FragmentState.Lost && entry.datagram !== undefined) {
          this.#send(entry, entry.datagram, true, this.#context.clock.now());
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
      if (window.outstanding >= this.#maxOutstanding || window.octets >= o.peerReceiveWindow) break;
      this.#assign(outgoing);
    }
    if (this.#lostHead >= this.#lost.length && this.#lostHead > 0) {
      this.#lost = [];
      this.#lostHead = 0;
    }
    if (this.#inFlight > 0) this.#timer.start(this.rto.rto, this.#probeTimeout());
  }

  /** An ACK datagram: its header's number, and the ranges in its payload. */
  onAck(seq: number, payload: Uint8Array): void {
    if (this.window.outstanding === 0) return;
    let ranges: readonly AckRange[] = NO_RANGES;
    if (payload.length > 0) {
      try {
        ranges = decodeAckRanges(payload);
      } catch (error) {
        if (!WireError.is(error)) throw error;
        this.#context.drop('bad-ack');
      }
    }
    this.#acknowledge(seq, ranges);
  }

  /**
   * The ranges of an ACK that came on the peer's data (spec §5.2, profile v2). The first range's first number
   * stands for a bare ACK's header number: the one that may give an RTT sample.
   */
  onPiggybackedAck(ranges: readonly AckRange[]): void {
    const first = ranges[0];
    if (first === undefined || this.window.outstanding === 0) return;
    this.#acknowledge(first.first, ranges);
  }

  #acknowledge(seq: number, ranges: readonly AckRange[]): void {
    const window = this.window;
    const outstanding = window.outstanding;
    let acked = this.#ackOne(seq, true) ? 1 : 0;
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
        this.#context.drop('ack-budget');
        break;
      }
    }
    if (acked === 0) return;
    window.advance();
    this.#detectLosses();
    if (window.outstanding > 0) this.#timer.restart(this.rto.rto, this.#probeTimeout());
    else this.#timer.stop();
    this.pump();
  }

  /** Ends the send path: every pending message rejects with `error`, the timer is cleared, buffers freed. */
  close(error: ReliabilityError): void {
    this.#closed = true;
    this.#timer.cancel();
    for (const m of [...this.#pending]) this.#settle(m, error);
    this.#pending.clear();
    this.#queue = [];
    this.#queueHead = 0;
    this.#queuedOctets = 0;
    this.window.clear();
    this.#lost = [];
    this.#lostHead = 0;
    this.congestion.clear();
    this.#inFlight = 0;
  }

  #outgoing(bytes: Uint8Array, syn: boolean): Outgoing {
    const outgoing: Outgoing = {
      bytes,
      count: syn ? 1 : this.#context.fragmenter.count(bytes.length),
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

  #assign(outgoing: Outgoing): void {
    const { fragmenter, options, clock } = this.#context;
    const seq = this.window.next;
    const index = outgoing.next++;
    if (outgoing.next === outgoing.count) {
      this.#queue[this.#queueHead++] = undefined as unknown as Outgoing;
      if (this.#queueHead > 256 && this.#queueHead * 2 > this.#queue.length) {
        this.#queue = this.#queue.slice(this.#queueHead);
        this.#queueHead = 0;
      }
    }
    // Encoded here, when the window lets it go, with this channel's own (valid) header fields.
    const piece = outgoing.syn ? undefined : fragmenter.piece(outgoing.bytes, index);
    const datagram = this.#context.allocate(FRAGMENT_HEADER_SIZE + (piece === undefined ? 0 : piece.length));
    const flags = outgoing.syn
      ? Flag.SYN | Flag.REL
      : Flag.REL | (outgoing.next === outgoing.count ? Flag.LFR : 0);
    writeHeader(datagram, flags, seq, options.localId, options.remoteId);
    if (piece !== undefined) datagram.set(piece, FRAGMENT_HEADER_SIZE);
    const now = clock.now();
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
    this.window.push(entry);
    this.#send(entry, datagram, false, now);
  }

  #send(entry: SentFragment, datagram: Uint8Array, retransmission: boolean, now: number): void {
    if (retransmission) {
      entry.retransmitted = true;
      this.stats.retransmits++;
    }
    entry.state = FragmentState.InFlight;
    entry.sentAt = now;
    this.congestion.sent(entry);
    this.#inFlight++;
    this.#context.transmit(datagram);
  }

  /**
   * Marks one fragment acknowledged. Only the ACK header's own number gives an RTT sample: ranges may repeat
   * old acknowledgements (the history that covers lost ACKs), whose age is not a round trip.
   */
  #ackOne(seq: number, sample: boolean): boolean {
    const entry = this.window.at(seq);
    if (entry === undefined || entry.state === FragmentState.Acked) return false;
    if (entry.state === FragmentState.InFlight) this.#inFlight--;
    entry.state = FragmentState.Acked;
    entry.datagram = undefined;
    if (sample && !entry.retransmitted) this.rto.sample(this.#context.clock.now() - entry.sentAt);
    this.congestion.acked(entry);
    const m = entry.message;
    if (++m.acked === m.count) {
      if (m.syn) {
        this.#synAcked = true;
        this.#settle(m);
        this.#context.synAcked();
      } else {
        this.stats.messagesSent++;
        this.#settle(m);
      }
    }
    return true;
  }

  #detectLosses(): void {
    this.congestion.detectLosses(this.window.outstanding, (entry) => {
      entry.state = FragmentState.Lost;
      this.#inFlight--;
      this.#lost.push(entry.seq);
      this.stats.fastRetransmits++;
    });
  }

  /** The probe timeout once an RTT is known; the peer may hold an ACK back for up to its ackDelay (assumed ours). */
  #probeTimeout(): number {
    const rto = this.rto.rto;
    const srtt = this.rto.srtt;
    const o = this.#context.options;
    return srtt === undefined ? rto : Math.max(2 * srtt, o.minProbeTimeout) + o.ackDelay;
  }

  /**
   * Tail-loss probe: resend the oldest unacknowledged fragment without touching the window. If it arrived,
   * its duplicate is acknowledged again together with the receiver's in-order history, which recovers lost
   * ACKs; if not, this fills the hole a full timeout later would have.
   */
  #probe(now: number): void {
    const entry = this.window.at(this.window.una);
    if (entry === undefined || entry.state === FragmentState.Acked) return;
    this.stats.probes++;
    if (entry.datagram === undefined) return;
    if (entry.state === FragmentState.Lost) {
      // Declared lost but held back by the window: a probe may exceed the window (RFC 8985 §7.3).
      this.#send(entry, entry.datagram, true, now);
      return;
    }
    entry.retransmitted = true;
    entry.sentAt = now;
    this.congestion.sent(entry);
    this.stats.retransmits++;
    this.#context.transmit(entry.datagram);
  }

  /** RFC 6298 §5.4–5.6 plus the give-up rule of spec §5.2, then go-back to the unacknowledged fragments. */
  #timeout(now: number): void {
    const o = this.#context.options;
    for (const entry of this.window.unacked()) {
      const elapsed = now - entry.firstSentAt;
      if (
        (entry.state === FragmentState.InFlight && entry.timeouts >= o.maxRetries) ||
        elapsed >= o.giveUpAfter
      ) {
        this.#giveUp(entry, elapsed);
        return;
      }
    }
    this.stats.timeouts++;
    this.#timer.stop();
    this.rto.backoff();
    this.congestion.timeout(this.#inFlight);
    this.#lost = [];
    this.#lostHead = 0;
    for (const entry of this.window.unacked()) {
      if (entry.state === FragmentState.InFlight) entry.timeouts++;
      entry.state = FragmentState.Lost;
      this.#lost.push(entry.seq);
    }
    this.#inFlight = 0;
    this.pump();
  }

  #giveUp(entry: SentFragment, elapsed: number): void {
    const m = entry.message;
    const error = new ReliabilityError(
      'TIMEOUT',
      `${describe(m)} not acknowledged: fragment ${entry.index + 1}/${m.count} (sequence ${entry.seq}) ` +
        `after ${entry.timeouts} retries in ${Math.round(elapsed)} ms`,
    );
    this.#settle(m, error);
    this.#context.fail(error);
  }
}
