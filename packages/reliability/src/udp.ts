import { type Socket, createSocket } from 'node:dgram';
import { ReliableChannel } from './channel.js';
import type { ChannelOptions } from './channel-types.js';
import { pooledAllocator } from '@xpp/wire';
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

/** Send failures per socket: a failed send is a lost datagram, which reliability repairs. */
const socketErrors = new WeakMap<Socket, { count: number }>();

/**
 * Asynchronous send errors (kernel buffer full, ICMP unreachable on a connected socket) arrive as the socket's
 * `error` event because sends pass no callback (a callback costs a tick per datagram); count them instead of
 * letting an unhandled `error` end the process.
 */
function countErrors(socket: Socket): { count: number } {
  let counter = socketErrors.get(socket);
  if (counter === undefined) {
    const created = { count: 0 };
    socket.on('error', () => created.count++);
    socketErrors.set(socket, created);
    counter = created;
  }
  return counter;
}

/**
 * A {@link DatagramPort} sending to one peer over a bound socket: to `remote`, or, when the socket was
 * connected to the peer (see {@link connectUdpChannel}), without an address, which is Node's fastest send path.
 */
export class UdpPort implements DatagramPort {
  readonly #socket: Socket;
  readonly #remote: UdpAddress | undefined;
  readonly #errors: { count: number };

  /** `remote` undefined: the socket is connected to the peer. */
  constructor(socket: Socket, remote: UdpAddress | undefined) {
    this.#socket = socket;
    this.#remote = remote;
    this.#errors = countErrors(socket);
  }

  /** Sends that failed, synchronously or later. */
  get sendErrors(): number {
    return this.#errors.count;
  }

  send(datagram: Uint8Array): void {
    try {
      if (this.#remote === undefined) this.#socket.send(datagram);
      else this.#socket.send(datagram, this.#remote.port, this.#remote.address);
    } catch {
      this.#errors.count++;
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
  return attach(options, false);
}

/**
 * Like {@link createUdpChannel}, after connecting the socket to `remote`: the kernel then filters other
 * senders and sends skip the per-datagram address resolution. For a socket dedicated to one session.
 */
export async function connectUdpChannel(options: UdpChannelOptions): Promise<ReliableChannel> {
  const { socket, remote } = options;
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.connect(remote.port, remote.address, () => {
      socket.off('error', reject);
      resolve();
    });
  });
  return attach(options, true);
}

function attach(options: UdpChannelOptions, connected: boolean): ReliableChannel {
  const { socket, remote, ...rest } = options;
  const channel = new ReliableChannel({
    // slab-pooled views cost far less than a zeroed Uint8Array (or a Buffer) per datagram
    allocate: pooledAllocator(),
    ...rest,
    port: new UdpPort(socket, connected ? undefined : remote),
  });
  const onMessage = (datagram: Buffer, from: { address: string; port: number }): void => {
    if (connected || (from.port === remote.port && from.address === remote.address))
      channel.receive(datagram);
  };
  socket.on('message', onMessage);
  channel.on('close', () => socket.off('message', onMessage));
  return channel;
}
