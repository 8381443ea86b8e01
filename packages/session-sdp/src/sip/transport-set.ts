import { SessionError } from '../errors.js';
import type { TransportAddress } from '../sdp/description.js';
import type { DatagramTransport } from '../transport/datagram-transport.js';
import { familyOf, isWildcard } from './dual-stack.js';
import type { DatagramReceiver, SipAddress, SipTransportName } from './transport.js';

/** A transport of the set: the transports it carries, how it sends, and where its Via points. */
interface Member extends DatagramTransport {
  localFor?(transport: SipTransportName): TransportAddress | undefined;
}

export interface SipTransportSetOptions {
  /**
   * The addresses the set names itself by when its sockets are bound to a wildcard (`::` dual stack, `0.0.0.0`), at
   * most one per family, the first the default: what Via, Record-Route and Contact say, since `::` names no one.
   * Required with a wildcard bind (`INVALID_ARGUMENT` without); ignored when the sockets are bound to one address.
   */
  readonly advertise?: readonly string[];
}

/**
 * One {@link SipTransport} over several: a UDP socket and connection listeners (TCP, TLS, WS, WSS) on the same SIP layer, the way
 * a proxy serves every client on its SIP port. Messages from each reach the one receiver with their source (which
 * names its transport); a message goes out on the member for `to.transport` (UDP when absent). Closing it closes all.
 */
export class SipTransportSet implements DatagramTransport {
  readonly #udp: DatagramTransport;
  readonly #streams: ReadonlyMap<SipTransportName, Member>;
  readonly #advertise: readonly string[];

  /** `udp` is the datagram socket (its `local` is the set's); `streams` the stream transports, one per name. */
  constructor(udp: DatagramTransport, streams: readonly Member[] = [], options: SipTransportSetOptions = {}) {
    this.#udp = udp;
    this.#advertise = options.advertise ?? [];
    const families = this.#advertise.map(familyOf);
    if (families.some((f) => f === undefined) || new Set(families).size !== families.length)
      throw new SessionError('INVALID_ARGUMENT', 'advertise: IP addresses, at most one per family');
    if (isWildcard(udp.local.address) && this.#advertise.length === 0)
      throw new SessionError(
        'INVALID_ARGUMENT',
        `bound to ${udp.local.address}: name the addresses to advertise`,
      );
    const byName = new Map<SipTransportName, Member>();
    for (const stream of streams) {
      for (const name of ['TCP', 'TLS', 'WS', 'WSS'] as const)
        if (stream.localFor?.(name) !== undefined) byName.set(name, stream);
    }
    this.#streams = byName;
  }

  /** The UDP socket's address; with a wildcard bind, the first advertised address at its port. */
  get local(): TransportAddress {
    return this.#named(this.#udp.local);
  }

  /**
   * Where `transport` is reached; with a wildcard bind, at the advertised address of `family` (the family of the
   * side it is for: a dual-stack peer names itself to an IPv6 client by its IPv6 address), else the first one.
   */
  localFor(transport: SipTransportName, family?: 4 | 6): TransportAddress | undefined {
    const bound = transport === 'UDP' ? this.#udp.local : this.#streams.get(transport)?.localFor?.(transport);
    return bound === undefined ? undefined : this.#named(bound, family);
  }

  #named(bound: TransportAddress, family?: 4 | 6): TransportAddress {
    if (!isWildcard(bound.address)) return bound;
    const address = this.#advertise.find((a) => familyOf(a) === family) ?? (this.#advertise[0] as string);
    return { address, port: bound.port };
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
