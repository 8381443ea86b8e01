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
