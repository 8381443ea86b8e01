/**
 * Every protocol timer and bound of the delivery engine in one table, derived from SIP's T1 as the spec does
 * (spec §5.2, §6). Each is the default of an option of the same name in {@link ChannelOptions}.
 */
export const T1 = 500;
export const Defaults = {
  /** Initial retransmission timeout (SIP T1). */
  initialRto: T1,
  /** Largest retransmission timeout (SIP T2): backoff doubles up to it. */
  maxRto: 4000,
  /** Smallest RTO an RTT estimate may produce (RFC 6298 suggests 1 s; XPP's T1 is 500 ms; see README). */
  minRto: 200,
  /**
   * Floor of the tail-loss probe timeout (2×SRTT): with nothing else to elicit ACKs, one fragment is resent
   * this early to recover a lost ACK or tail fragment without a full timeout (RFC 8985 §7).
   */
  minProbeTimeout: 4,
  /** Longest wait before acknowledging a small message's fragment, so one ACK covers several exchanges. */
  ackDelay: 2,
  /** Small-message acknowledgements pending that are sent at once without waiting for `ackDelay`. */
  ackEvery: 8,
  /**
   * `ackEvery` when ACKs ride on data (`piggybackAcks`): responses carry most of them, so a stand-alone ACK is
   * left only for what no fragment leaves with, and spec §5.2 (profile v2) bounds that at the second one.
   */
  piggybackAckEvery: 2,
  /** Retransmissions of one fragment after timeouts before its message fails with `TIMEOUT`. */
  maxRetries: 7,
  /** Milliseconds after a fragment was first sent before its message fails with `TIMEOUT` (64×T1). */
  giveUpAfter: 64 * T1,
  /** Initial congestion window in fragments (spec §5.2). */
  initialWindow: 10,
  /** Later ACKs that declare an unacknowledged fragment lost (fast retransmit). */
  dupThreshold: 3,
  /** Idle time before a keepalive (spec §6). */
  keepaliveInterval: 15_000,
  /** Unanswered keepalives in a row that declare the peer dead (spec §6). */
  keepaliveMisses: 3,
  /** The peer's receive window assumed for sending (its reassembly bound, spec §5.1 default 4 MiB). */
  peerReceiveWindow: 4 * 1024 * 1024,
  /** The peer's furthest-ahead bound assumed for sending (the reassembler's default). */
  peerMaxFragmentsAhead: 16384,
  /** Octets of messages queued or in flight before `send` refuses with `QUEUE_FULL`. */
  maxQueuedOctets: 64 * 1024 * 1024,
  /** Received messages buffered for a slow `messages()` iterator before new ones are dropped and counted. */
  maxBufferedMessages: 4096,
  /** Most ranges one ACK datagram carries. */
  maxAckRanges: 64,
  /** In-order sequence numbers re-acknowledged in every batched ACK, so one lost ACK costs no retransmission. */
  ackHistory: 64,
} as const;
