import type { SipTransport } from '../sip/transport.js';

/**
 * A datagram socket as the endpoint and the SIP layer see it: where it sends from, `send`, one receiver, `close`.
 * `UdpSipTransport` is the real one (a `node:dgram` socket); `MemoryTransport` (from `@xpp/session-sdp/testing`)
 * carries the same protocol code over an in-memory network for large simulations.
 */
export interface DatagramTransport extends SipTransport {
  close(): Promise<void>;
}
