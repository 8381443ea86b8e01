import type { ReassemblyDropReason } from '@xpp/fragment';
import type { Message } from '@xpp/wire';
import type { Clock } from './clock.js';
import type { ReliabilityError } from './errors.js';
import type { DatagramPort } from './port.js';

/** Why the channel dropped a datagram or a message without delivering it. */
export type ChannelDropReason =
  /** Not an XPP fragment: too short, wrong version, too large. */
  | 'bad-header'
  /** Its Local ID / Remote ID are not this session's. */
  | 'wrong-session'
  /** A reliable fragment before the peer's SYN, so no sequence to place it in. */
  | 'no-syn'
  /** A second SYN with another initial sequence number. */
  | 'unexpected-syn'
  /** Malformed ACK ranges (a bare ACK's header number still counts), or a malformed ACK trailer (data dropped). */
  | 'bad-ack'
  /** ACK ranges beyond the per-datagram work budget. */
  | 'ack-budget'
  /** A complete message that does not decode. */
  | 'bad-message'
  /** A datagram without REL, ACK or KPA and without LFR. */
  | 'unreliable-not-last'
  /** A received message while the `messages()` iterator's buffer was full. */
  | 'receive-buffer-full'
  /** A datagram after close. */
  | 'closed';

export type DropReason = ChannelDropReason | ReassemblyDropReason;

export const CHANNEL_DROP_REASONS: readonly ChannelDropReason[] = [
  'bad-header',
  'wrong-session',
  'no-syn',
  'unexpected-syn',
  'bad-ack',
  'ack-budget',
  'bad-message',
  'unreliable-not-last',
  'receive-buffer-full',
  'closed',
];

export interface ChannelOptions {
  /** This side's ltag (sent as Local ID). */
  readonly localId: number;
  /** The peer's ltag (sent as Remote ID). */
  readonly remoteId: number;
  /** Where datagrams go. */
  readonly port: DatagramPort;
  /** Default {@link systemClock}. */
  readonly clock?: Clock;
  /**
   * Memory for outgoing datagrams and encoded messages (always fully overwritten). Default `new Uint8Array`;
   * the UDP adapter passes a slab-pooled allocator (8 KiB slabs, like Node's `Buffer` pool).
   */
  readonly allocate?: (size: number) => Uint8Array;
  /** Source of randomness in [0, 1) for the initial sequence number. Default `Math.random`. */
  readonly random?: () => number;
  /** This side's initial sequence number (its SYN's). Default random. */
  readonly initialSeq?: number;
  /**
   * The peer's initial sequence number when the SYN exchange was done by the layer above. Given together with
   * `initialSeq`, the channel starts open: no SYN is sent or expected.
   */
  readonly peerInitialSeq?: number;
  /** Largest datagram sent, 576..65507. Default 1200. */
  readonly maxDatagramSize?: number;
  /** Largest message sent or accepted, header included. Default 256 KiB. */
  readonly maxMessageSize?: number;
  /** This side's receive window in octets (reassembler bound). Default 4 MiB. */
  readonly receiveWindow?: number;
  /** This side's furthest-ahead sequence bound (reassembler). Default 16384. */
  readonly maxFragmentsAhead?: number;
  /** Partial-message timeout in ms. Default 30 000. */
  readonly partialTimeout?: number;
  /** The peer's receive window assumed when sending. Default 4 MiB. */
  readonly peerReceiveWindow?: number;
  /** The peer's furthest-ahead bound assumed when sending. Default 16384. */
  readonly peerMaxFragmentsAhead?: number;
  readonly initialRto?: number;
  readonly minRto?: number;
  readonly maxRto?: number;
  readonly maxRetries?: number;
  readonly giveUpAfter?: number;
  readonly initialWindow?: number;
  readonly dupThreshold?: number;
  readonly keepaliveInterval?: number;
  readonly keepaliveMisses?: number;
  readonly maxQueuedOctets?: number;
  readonly maxBufferedMessages?: number;
  readonly maxAckRanges?: number;
  readonly ackHistory?: number;
  readonly minProbeTimeout?: number;
  readonly ackDelay?: number;
  /** Default 8; 2 with `piggybackAcks` (spec §5.2 profile v2: at once for the second unacknowledged fragment). */
  readonly ackEvery?: number;
  /**
   * Acknowledge on the fragments this side sends anyway (a response acknowledges its request; spec §5.2, profile
   * v2), and read such fragments from the peer. Only for a peer that negotiated it (`a=xpp-ack:piggyback` in both
   * SDP bodies): an older peer would take the fragment for a bare ACK and drop its payload. Default false.
   */
  readonly piggybackAcks?: boolean;
}

export interface SendOptions {
  /** Default true. An unreliable message is one datagram, never acknowledged, retransmitted or ordered. */
  readonly reliable?: boolean;
  readonly signal?: AbortSignal;
}

export interface ReceivedMessage {
  readonly message: Message;
  /** The encoded message; option values in `message` are views into it. */
  readonly bytes: Uint8Array;
  readonly reliable: boolean;
}

export interface ChannelStats {
  /** Smoothed RTT and its variation in ms (undefined before the first sample), current RTO. */
  readonly srtt: number | undefined;
  readonly rttvar: number;
  readonly rto: number;
  readonly cwnd: number;
  readonly ssthresh: number;
  /** Fragments sent and neither acknowledged nor declared lost. */
  readonly inFlight: number;
  /** Sequence numbers between the oldest unacknowledged and the next to send. */
  readonly outstanding: number;
  /** Reliable messages accepted by `send` and not yet fully acknowledged, and their octets. */
  readonly pendingMessages: number;
  readonly queuedOctets: number;
  readonly datagramsSent: number;
  readonly datagramsReceived: number;
  readonly retransmits: number;
  readonly fastRetransmits: number;
  /** Tail-loss probes sent (each also counted in `retransmits`). */
  readonly probes: number;
  readonly timeouts: number;
  readonly ackDatagramsSent: number;
  /** Data fragments that also carried acknowledgements (`piggybackAcks`), each a stand-alone ACK saved. */
  readonly piggybackedAcks: number;
  readonly keepalivesSent: number;
  readonly messagesSent: number;
  readonly messagesReceived: number;
  readonly duplicates: number;
  readonly heldFragments: number;
  readonly heldOctets: number;
  readonly partialOctets: number;
  /** Timers currently armed by this channel (0 once closed). */
  readonly timers: number;
  readonly drops: Readonly<Record<DropReason, number>>;
}

export interface ChannelEvents {
  /** The own SYN is acknowledged and the peer's SYN received. */
  open: () => void;
  message: (received: ReceivedMessage) => void;
  /** Three keepalives went unanswered (spec §6); the channel closes with `PEER_DEAD` right after. */
  deadpeer: () => void;
  /** The channel closed; `error` says why unless it was closed cleanly. */
  close: (error: ReliabilityError | undefined) => void;
}
