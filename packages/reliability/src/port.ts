/**
 * Where a session's datagrams go: the only I/O a delivery engine does. A UDP socket connected to the peer, an
 * endpoint's demultiplexer, a security layer or the in-memory test network all implement it. Received
 * datagrams come back through the engine's `receive(datagram)`.
 */
export interface DatagramPort {
  /** Sends one datagram; must not throw (a failed send is a lost datagram, which reliability handles). */
  send(datagram: Uint8Array): void;
}
