import { createSocket, type Socket } from 'node:dgram';
import { isIP } from 'node:net';
import { SessionError, abortError } from '../errors.js';
import type { TransportAddress } from '../sdp/description.js';
import type { DatagramTransport } from '../transport/datagram-transport.js';
import { bindOrAbort } from './bind.js';
import { addressForSocket, unmapIpv4 } from './dual-stack.js';
import type { DatagramReceiver } from './transport.js';

export interface UdpSipTransportOptions {
  /** Address to bind; default `127.0.0.1`. IPv6 literals bind a udp6 socket; `::` serves IPv4 too (dual stack). */
  readonly address?: string;
  /** Port to bind; default 0 (any free port). */
  readonly port?: number;
  readonly signal?: AbortSignal;
  /** Kernel receive and send buffers in octets (capped by the OS). Default 4 MiB: a full XPP window fits. */
  readonly bufferSize?: number;
}

/**
 * A `node:dgram` socket as a {@link SipTransport} and the XPP endpoint's {@link DatagramTransport}. Receive
 * errors never reach the layers above.
 */
export class UdpSipTransport implements DatagramTransport {
  readonly local: TransportAddress;
  readonly #socket: Socket;
  readonly #family: 4 | 6;
  #receiver: DatagramReceiver = () => undefined;
  #closed = false;

  private constructor(socket: Socket, local: TransportAddress, family: 4 | 6) {
    this.#socket = socket;
    this.local = local;
    this.#family = family;
    socket.on('message', (message, remote) => {
      this.#receiver(new Uint8Array(message.buffer, message.byteOffset, message.byteLength), {
        address: unmapIpv4(remote.address),
        port: remote.port,
      });
    });
    // An ICMP port-unreachable and the like surface here; the transactions time out on their own.
    socket.on('error', () => undefined);
  }

  /** Binds a socket. Rejects with `TRANSPORT` if the bind fails, `ABORTED` on the signal. */
  static async open(options: UdpSipTransportOptions = {}): Promise<UdpSipTransport> {
    const address = options.address ?? '127.0.0.1';
    if (options.signal?.aborted === true) throw abortError(options.signal);
    const bufferSize = options.bufferSize ?? 4 * 1024 * 1024;
    const family = isIP(address) === 6 ? 6 : 4;
    // An IPv6 socket bound to `::` is dual stack (IPV6_V6ONLY off, Node's default): IPv4 arrives mapped.
    const socket = createSocket({
      type: family === 6 ? 'udp6' : 'udp4',
      recvBufferSize: bufferSize,
      sendBufferSize: bufferSize,
    });
    await bindOrAbort(
      socket,
      (bound) => socket.bind(options.port ?? 0, address, bound),
      `cannot bind ${address}:${options.port ?? 0}`,
      options.signal,
    );
    const bound = socket.address();
    return new UdpSipTransport(socket, { address: bound.address, port: bound.port }, family);
  }

  send(datagram: Uint8Array, to: TransportAddress): void {
    if (this.#closed) throw new SessionError('TRANSPORT', 'transport is closed');
    this.#socket.send(datagram, to.port, addressForSocket(to.address, this.#family));
  }

  setReceiver(receiver: DatagramReceiver): void {
    this.#receiver = receiver;
  }

  close(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.#closed = true;
    return new Promise((resolve) => this.#socket.close(() => resolve()));
  }
}
