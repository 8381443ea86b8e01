import type { TransportAddress } from '../sdp/description.js';

/**
 * The transports SIP runs over here: UDP datagrams, TCP and TLS streams (RFC 3261 §18), and WebSocket connections,
 * plain or secure (RFC 7118), which carry one message per WebSocket message.
 */
export type SipTransportName = 'UDP' | 'TCP' | 'TLS' | 'WS' | 'WSS';

/**
 * A SIP peer's address with the transport that reaches it. Without `transport` it is UDP (what every address was
 * before streams). A stream source names the connection a message came on: a response to it goes back on that
 * connection (RFC 3261 §18.2.2), and a request to it reuses it (a RFC 5626 flow).
 */
export interface SipAddress extends TransportAddress {
  readonly transport?: SipTransportName;
}

/**
 * Whether `address` is reached over a connection (TCP, TLS, WS, WSS): reliable (RFC 3261 §17 timers for reliable
 * transports), and a response goes back on the connection of its request.
 */
export function isStreamTransport(address: SipAddress): boolean {
  return address.transport !== undefined && address.transport !== 'UDP';
}

/**
 * Receives every datagram a transport reads (for a stream, every message it framed), with its source. A stream
 * source carries its `transport`.
 */
export type DatagramReceiver = (datagram: Uint8Array, source: SipAddress) => void;

/**
 * The `send(datagram)` port the SIP layer writes through. {@link UdpSipTransport} is the real one; tests may
 * put anything that moves bytes behind it.
 */
export interface SipTransport {
  /** The address and port datagrams are sent from (what a Via and Contact advertise). */
  readonly local: TransportAddress;
  /**
   * Sends one datagram (or one whole message on a stream: `to.transport` picks it). Throws `SessionError`
   * `TRANSPORT` when closed, or when `to` names a transport this one does not have.
   */
  send(datagram: Uint8Array, to: SipAddress): void;
  /** Sets who receives datagrams; one receiver at a time. */
  setReceiver(receiver: DatagramReceiver): void;
  /**
   * The address a Via sent-by names for messages sent over `transport` (a TLS listener has its own port); undefined
   * when this transport does not have it. Absent: UDP only, at {@link local}. `family`: the IP family of the side
   * it is for, which a dual-stack transport answers with its address of that family.
   */
  localFor?(transport: SipTransportName, family?: 4 | 6): TransportAddress | undefined;
}

/**
 * One datagram read from the SIP socket, as a {@link DatagramFilter} sees it: before the SIP codec, so it may be
 * anything a peer sends to a SIP port (a STUN Binding request, an RFC 5626 CRLF keepalive, SIP, noise).
 */
export interface InboundDatagram {
  /** The octets as read from the socket. */
  readonly data: Uint8Array;
  /** Where it came from: the address a {@link reply} goes to. */
  readonly source: TransportAddress;
  /**
   * Sends `answer` to {@link source} from the socket this datagram arrived on (so a NAT between sees the same
   * flow). Throws `SessionError` `TRANSPORT` once the socket is closed. Not counted in the layer's `stats.sent`,
   * which counts SIP only.
   */
  reply(answer: Uint8Array): void;
}

/**
 * Sees a datagram before the SIP layer does and returns `true` when it consumed it (answered it with
 * {@link InboundDatagram.reply}, or took it elsewhere): the SIP layer then never sees it. `false` lets it go on to
 * the SIP codec. Added with `SipTransactionLayer.addDatagramFilter`. Datagram transports only: a stream transport
 * frames its own messages and has no datagrams to filter.
 */
export type DatagramFilter = (datagram: InboundDatagram) => boolean;
