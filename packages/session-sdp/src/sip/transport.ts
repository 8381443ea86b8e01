import type { TransportAddress } from '../sdp/description.js';

/** Receives every datagram a transport reads, with its source. */
export type DatagramReceiver = (datagram: Uint8Array, source: TransportAddress) => void;

/**
 * The `send(datagram)` port the SIP layer writes through. {@link UdpSipTransport} is the real one; tests may
 * put anything that moves bytes behind it.
 */
export interface SipTransport {
  /** The address and port datagrams are sent from (what a Via and Contact advertise). */
  readonly local: TransportAddress;
  /** Sends one datagram; throws `SessionError` `TRANSPORT` when closed. */
  send(datagram: Uint8Array, to: TransportAddress): void;
  /** Sets who receives datagrams; one receiver at a time. */
  setReceiver(receiver: DatagramReceiver): void;
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
