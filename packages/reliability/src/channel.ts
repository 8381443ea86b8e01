import { Fragmenter, REASSEMBLY_DROP_REASONS } from '@xpp/fragment';
import {
  type AckRange,
  ACK_RANGE_SIZE,
  FRAGMENT_HEADER_SIZE,
  Flag,
  type Message,
  WireError,
  ackTrailerSize,
  decodeAckTrailer,
  decodeFragment,
  encodeAckRanges,
  encodeAckTrailer,
  encodeMessage,
  messageSize,
} from '@xpp/wire';
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
import { type Clock, type TimerHandle, systemClock } from './clock.js';
import { ReliabilityError, abortError } from './errors.js';
import { AsyncQueue } from './internal/async-queue.js';
import {
  type ResolvedChannelOptions,
  checkOption,
  resolveChannelOptions,
} from './internal/channel-options.js';
import { Emitter } from './internal/emitter.js';
import { writeHeader } from './internal/header.js';
import { Keepalive } from './internal/keepalive.js';
import { Receiver } from './internal/receiver.js';
import { Sender } from './internal/sender.js';
import type { DatagramPort } from './port.js';

/**
 * One session's delivery engine (spec §5, §6): sequence numbers, per-fragment ACKs with range batching, RFC 6298
 * retransmission, a congestion window, duplicate suppression, in-order reassembly, keepalive. Pure: it does I/O
 * only through its {@link DatagramPort} and time only through its {@link Clock}; feed it received datagrams with
 * {@link receive}.
 *
 * The channel owns the handshake, the session's life and its events; the work is its parts': the send path
 * ({@link Sender}, with congestion control and the retransmission timer), the receive path ({@link Receiver},
 * with delayed ACKs) and {@link Keepalive}.
 */
export class ReliableChannel {
  readonly localId: number;
  readonly remoteId: number;
  readonly initialSeq: number;

  readonly #port: DatagramPort;
  readonly #clock: Clock;
  readonly #fragmenter: Fragmenter;
  readonly #events = new Emitter<ChannelEvents>();
  readonly #iterators = new Set<AsyncQueue<ReceivedMessage>>();
  readonly #o: ResolvedChannelOptions;
  readonly #allocate: (size: number) => Uint8Array;
  readonly #sender: Sender;
  readonly #receiver: Receiver;
  readonly #keepalive: Keepalive;
  #openTimer: TimerHandle | undefined;

  #opened = false;
  #closed = false;
  #closeError: ReliabilityError | undefined;
  #datagramsSent = 0;
  #datagramsReceived = 0;
  readonly #drops = Object.fromEntries(CHANNEL_DROP_REASONS.map((r) => [r, 0])) as Record<
    ChannelDropReason,
    number
  >;

  constructor(options: ChannelOptions) {
    this.localId = options.localId;
    this.remoteId = options.remoteId;
    this.#port = options.port;
    const clock = (this.#clock = options.clock ?? systemClock);
    const o = (this.#o = resolveChannelOptions(options));
    const allocate = (this.#allocate = options.allocate ?? ((size) => new Uint8Array(size)));
    try {
      this.#fragmenter = new Fragmenter({ maxDatagramSize: o.maxDatagramSize, allocate });
    } catch (cause) {
      throw new ReliabilityError('INVALID_OPTION', (cause as Error).message, { cause });
    }
    const drop = (reason: ChannelDropReason): void => {
      this.#drops[reason]++;
    };

    const random = options.random ?? Math.random;
    this.initialSeq = options.initialSeq ?? Math.floor(random() * 0x10000) & 0xffff;
    checkOption('initialSeq', this.initialSeq, 0xffff);
    const established = options.peerInitialSeq !== undefined && options.initialSeq !== undefined;
    this.#sender = new Sender(
      {
        clock,
        options: o,
        fragmenter: this.#fragmenter,
        allocate,
        transmit: (datagram) => this.#transmitData(datagram),
        drop,
        synAcked: () => this.#checkOpen(),
        fail: (error) => this.close(error),
      },
      established ? (this.initialSeq + 1) & 0xffff : this.initialSeq,
      established,
    );
    this.#receiver = new Receiver({
      clock,
      options: o,
      maxAckPayload: this.#fragmenter.maxPayload,
      sendAck: (seq, ranges) => this.#sendControl(Flag.ACK, seq, ranges),
      drop,
      peerSyn: () => this.#checkOpen(),
      deliver: (received) => this.#deliver(received),
    });
    if (established) this.#receiver.acceptPeerSyn(options.peerInitialSeq as number);
    this.#keepalive = new Keepalive({
      clock,
      interval: o.keepaliveInterval,
      misses: o.keepaliveMisses,
      sendKeepalive: () => this.#sendControl(Flag.KPA, this.#sender.window.next),
      partialDeadline: () => this.#receiver.partialDeadline(),
      partialTimeout: () => this.#receiver.checkPartialTimeout(),
      fail: (error) => this.close(error),
      dead: (error) => {
        this.#events.emit('deadpeer');
        this.close(error);
      },
    });
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
    if (options.reliable === false) return this.#sender.sendUnreliable(bytes, frame);
    const refused = this.#sender.refuse(bytes.length);
    if (refused !== undefined) return Promise.reject(refused);
    const promise = this.#sender.enqueue(bytes, frame, signal);
    this.#ensureSyn();
    this.#sender.pump();
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
    this.#datagramsReceived++;
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
    this.#keepalive.heard();
    let flags = fragment.flags;
    let payload = fragment.payload;
    if ((flags & Flag.ACK) !== 0) {
      if ((flags & Flag.KPA) !== 0) return;
      if (!this.#o.piggybackAcks || (flags & (Flag.REL | Flag.LFR)) === 0 || (flags & Flag.SYN) !== 0) {
        this.#sender.onAck(fragment.seq, payload);
        return;
      }
      // Data with a piggybacked ACK (spec §5.2, profile v2): the acknowledgement first, then the data as usual.
      let trailer;
      try {
        trailer = decodeAckTrailer(payload);
      } catch (error) {
        if (!WireError.is(error)) throw error;
        this.#drops['bad-ack']++;
        return;
      }
      this.#sender.onPiggybackedAck(trailer.ranges);
      if (this.#closed) return;
      flags &= ~Flag.ACK;
      payload = trailer.data;
    }
    if ((flags & Flag.KPA) !== 0) {
      this.#sendControl(Flag.KPA | Flag.ACK, fragment.seq);
      return;
    }
    if ((flags & Flag.REL) !== 0) {
      this.#receiver.onReliable(fragment.seq, flags, payload);
      return;
    }
    if ((flags & Flag.LFR) === 0) {
      this.#drops['unreliable-not-last']++;
      return;
    }
    this.#receiver.deliver(payload, false);
  }

  get stats(): ChannelStats {
    const sender = this.#sender;
    const receiver = this.#receiver;
    const r = receiver.reassembly;
    const drops = { ...this.#drops } as Record<DropReason, number>;
    for (const reason of REASSEMBLY_DROP_REASONS) drops[reason] = r?.drops[reason] ?? 0;
    let queuedOctets = 0;
    for (const m of sender.pending) queuedOctets += m.bytes.length;
    return {
      srtt: sender.rto.srtt,
      rttvar: sender.rto.rttvar,
      rto: sender.rto.rto,
      cwnd: sender.congestion.window,
      ssthresh: sender.congestion.ssthresh,
      inFlight: sender.inFlight,
      outstanding: sender.window.outstanding,
      pendingMessages: sender.pending.size,
      queuedOctets,
      datagramsSent: this.#datagramsSent,
      datagramsReceived: this.#datagramsReceived,
      retransmits: sender.stats.retransmits,
      fastRetransmits: sender.stats.fastRetransmits,
      probes: sender.stats.probes,
      timeouts: sender.stats.timeouts,
      ackDatagramsSent: receiver.stats.ackDatagramsSent,
      piggybackedAcks: receiver.stats.piggybackedAcks,
      keepalivesSent: this.#keepalive.sent,
      messagesSent: sender.stats.messagesSent,
      messagesReceived: receiver.stats.messagesReceived,
      duplicates: receiver.stats.duplicates + (r?.duplicates ?? 0),
      heldFragments: r?.heldFragments ?? 0,
      heldOctets: r?.heldOctets ?? 0,
      partialOctets: r?.partialOctets ?? 0,
      timers:
        (sender.timerArmed ? 1 : 0) +
        (receiver.timerArmed ? 1 : 0) +
        (this.#keepalive.timerArmed ? 1 : 0) +
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
    this.#keepalive.stop();
    if (this.#openTimer !== undefined) this.#clock.clearTimer(this.#openTimer);
    this.#openTimer = undefined;
    this.#sender.close(this.#closedError());
    this.#receiver.close();
    for (const queue of this.#iterators) queue.end(error);
    this.#iterators.clear();
    this.#events.emit('close', error);
    this.#events.clear();
  }

  /** Queues this side's SYN (once) and gives up on the session if it is not open within `giveUpAfter`. */
  #ensureSyn(): void {
    if (!this.#sender.queueSyn()) return;
    this.#openTimer = this.#clock.setTimer(() => {
      this.#openTimer = undefined;
      if (!this.#opened) {
        this.close(new ReliabilityError('OPEN_TIMEOUT', `session not open after ${this.#o.giveUpAfter} ms`));
      }
    }, this.#o.giveUpAfter);
    this.#sender.pump();
  }

  #checkOpen(): void {
    if (this.#opened || !this.#sender.synAcked || !this.#receiver.peerSynSeen) return;
    this.#opened = true;
    if (this.#openTimer !== undefined) {
      this.#clock.clearTimer(this.#openTimer);
      this.#openTimer = undefined;
    }
    this.#events.emit('open');
    this.#sender.pump();
  }

  #deliver(received: ReceivedMessage): void {
    this.#events.emit('message', received);
    for (const queue of this.#iterators) if (!queue.push(received)) this.#drops['receive-buffer-full']++;
  }

  #transmit(datagram: Uint8Array): void {
    this.#datagramsSent++;
    this.#port.send(datagram);
  }

  /**
   * A datagram of the send path (data, SYN, retransmissions). With `piggybackAcks`, a data fragment that has room
   * leaves as a copy with `ACK` set and whatever waits to be acknowledged in its trailer (spec §5.2, profile v2);
   * the copy keeps the stored datagram clean, so a retransmission carries fresh acknowledgements, never stale ones.
   */
  #transmitData(datagram: Uint8Array): void {
    if (this.#o.piggybackAcks && this.#receiver.acksPending && ((datagram[1] as number) & Flag.SYN) === 0) {
      const room = this.#o.maxDatagramSize - datagram.length - ackTrailerSize(0);
      const ranges =
        room >= ACK_RANGE_SIZE ? this.#receiver.takeAcks(Math.floor(room / ACK_RANGE_SIZE)) : undefined;
      if (ranges !== undefined) {
        const out = this.#allocate(datagram.length + ackTrailerSize(ranges.length));
        out.set(datagram);
        out[1] = (datagram[1] as number) | Flag.ACK;
        encodeAckTrailer(ranges, out, datagram.length);
        this.#transmit(out);
        return;
      }
    }
    this.#transmit(datagram);
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

  #closedError(): ReliabilityError {
    return new ReliabilityError(
      'CLOSED',
      this.#closeError === undefined ? 'channel closed' : `channel closed: ${this.#closeError.message}`,
      this.#closeError === undefined ? {} : { cause: this.#closeError },
    );
  }
}
