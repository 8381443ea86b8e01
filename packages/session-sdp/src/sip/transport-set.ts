import { SessionError } from '../errors.js';
import type { TransportAddress } from '../sdp/description.js';
import type { DatagramTransport } from '../transport/datagram-transport.js';
import type { DatagramReceiver, SipAddress, SipTransportName } from './transport.js';

/** A transport of the set: the transports it carries, how it sends, and where its Via points. */
interface Member extends DatagramTransport {
  localFor?(transport: SipTransportName): TransportAddress | undefined;
}

/**
 * One {@link SipTransport} over several: a UDP socket and connection listeners (TCP, TLS, WS, WSS) on the same SIP layer, the way
 * a proxy serves every client on its SIP port. Messages from each reach the one receiver with their source (which
 * names its transport); a message goes out on the member for `to.transport` (UDP when absent). Closing it closes all.
 */
export class SipTransportSet implements DatagramTransport {
  readonly #udp: DatagramTransport;
  readonly #streams: ReadonlyMap<SipTransportName, Member>;

  /** `udp` is the datagram socket (its `local` is the set's); `streams` the stream transports, one per name. */
  constructor(udp: DatagramTransport, streams: readonly Member[] = []) {
    this.#udp = udp;
    const byName = new Map<SipTransportName, Member>();
    for (const stream of streams) {
      for (const name of ['TCP', 'TLS', 'WS', 'WSS'] as const)
        if (stream.localFor?.(name) !== undefined) byName.set(name, stream);
    }
    this.#streams = byName;
  }

  get local(): TransportAddress {
    return this.#udp.local;
  }

  localFor(transport: SipTransportName): TransportAddress | undefined {
    return transport === 'UDP' ? this.#udp.local : this.#streams.get(transport)?.localFor?.(transport);
  }

  send(datagram: Uint8Array, to: SipAddress): void {
    if (to.transport === undefined || to.transport === 'UDP') {
      this.#udp.send(datagram, to);
      return;
    }
    const stream = this.#streams.get(to.transport);
    if (stream === undefined) throw new SessionError('TRANSPORT', `no ${to.transport} transport`);
    stream.send(datagram, to);
  }

  setReceiver(receiver: DatagramReceiver): void {
    this.#udp.setReceiver(receiver);
    for (const stream of new Set(this.#streams.values())) stream.setReceiver(receiver);
  }

  async close(): Promise<void> {
    await Promise.all([this.#udp.close(), ...[...new Set(this.#streams.values())].map((s) => s.close())]);
  }
}
