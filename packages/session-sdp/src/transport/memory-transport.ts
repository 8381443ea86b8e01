import type { MemoryEndpoint, MemoryNetwork } from '@xpp/reliability/testing';
import { SessionError } from '../errors.js';
import type { TransportAddress } from '../sdp/description.js';
import type { DatagramReceiver } from '../sip/transport.js';
import type { DatagramTransport } from './datagram-transport.js';

/**
 * A {@link DatagramTransport} on an in-memory network (`MemoryNetwork` of `@xpp/reliability/testing`): an
 * "address:port" on the network stands for a UDP socket, so endpoints, SIP user agents and everything above run
 * unchanged, thousands to a process, on a fake clock if the network has one.
 */
export class MemoryTransport implements DatagramTransport {
  readonly local: TransportAddress;
  readonly #endpoint: MemoryEndpoint;
  #receiver: DatagramReceiver = () => undefined;
  #closed = false;

  constructor(network: MemoryNetwork, local: TransportAddress) {
    this.local = { address: local.address, port: local.port };
    this.#endpoint = network.bind(key(local), (datagram, from) => this.#receiver(datagram, parseKey(from)));
  }

  send(datagram: Uint8Array, to: TransportAddress): void {
    if (this.#closed) throw new SessionError('TRANSPORT', 'transport is closed');
    this.#endpoint.send(key(to), datagram);
  }

  setReceiver(receiver: DatagramReceiver): void {
    this.#receiver = receiver;
  }

  close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      this.#endpoint.close();
    }
    return Promise.resolve();
  }
}

function key(address: TransportAddress): string {
  return `${address.address}:${address.port}`;
}

function parseKey(text: string): TransportAddress {
  const at = text.lastIndexOf(':');
  return { address: text.slice(0, at), port: Number(text.slice(at + 1)) };
}
