import { type Socket, createSocket } from 'node:dgram';
import { type ChannelOptions, ReliableChannel } from './channel.js';
import type { DatagramPort } from './port.js';

/** An IP address and UDP port. */
export interface UdpAddress {
  readonly address: string;
  readonly port: number;
}

export interface BindUdpOptions {
  /** Default 0 (any free port). */
  readonly port?: number;
  /** Default `127.0.0.1`. */
  readonly address?: string;
  /** Default `udp4`. */
  readonly type?: 'udp4' | 'udp6';
  /** Kernel receive buffer in octets (capped by the OS). Default 4 MiB: bursts of a full window fit. */
  readonly recvBufferSize?: number;
  /** Kernel send buffer in octets. Default 4 MiB. */
  readonly sendBufferSize?: number;
}

/** Binds a UDP socket and sizes its kernel buffers. */
export async function bindUdp(options: BindUdpOptions = {}): Promise<Socket> {
  const socket = createSocket({
    type: options.type ?? 'udp4',
    recvBufferSize: options.recvBufferSize ?? 4 * 1024 * 1024,
    sendBufferSize: options.sendBufferSize ?? 4 * 1024 * 1024,
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(options.port ?? 0, options.address ?? '127.0.0.1', () => {
      socket.off('error', reject);
      resolve();
    });
  });
  return socket;
}

/** The local address a bound socket listens on. */
export function socketAddress(socket: Socket): UdpAddress {
  const { address, port } = socket.address();
  return { address, port };
}

/**
 * A {@link DatagramPort} sending to one peer over a bound socket. Send failures (socket closed, kernel buffer
 * full) are counted in `sendErrors` and otherwise treated as loss, which reliability repairs.
 */
export class UdpPort implements DatagramPort {
  sendErrors = 0;
  readonly #socket: Socket;
  readonly #remote: UdpAddress;
  readonly #onSent = (error: Error | null): void => {
    if (error !== null) this.sendErrors++;
  };

  constructor(socket: Socket, remote: UdpAddress) {
    this.#socket = socket;
    this.#remote = remote;
  }

  send(datagram: Uint8Array): void {
    try {
      this.#socket.send(datagram, this.#remote.port, this.#remote.address, this.#onSent);
    } catch {
      this.sendErrors++;
    }
  }
}

export interface UdpChannelOptions extends Omit<ChannelOptions, 'port'> {
  /** A bound socket dedicated to this session (an endpoint with many sessions demultiplexes by ltag instead). */
  readonly socket: Socket;
  /** The peer's address: datagrams go there, and only datagrams from there are taken. */
  readonly remote: UdpAddress;
}

/**
 * The thin `node:dgram` adapter: a {@link ReliableChannel} whose port is the socket and which receives the
 * socket's datagrams from `remote`. Closing the channel detaches it; the socket stays the caller's.
 */
export function createUdpChannel(options: UdpChannelOptions): ReliableChannel {
  const { socket, remote, ...rest } = options;
  const channel = new ReliableChannel({ ...rest, port: new UdpPort(socket, remote) });
  const onMessage = (datagram: Buffer, from: { address: string; port: number }): void => {
    if (from.port === remote.port && from.address === remote.address) channel.receive(datagram);
  };
  socket.on('message', onMessage);
  channel.on('close', () => socket.off('message', onMessage));
  return channel;
}
