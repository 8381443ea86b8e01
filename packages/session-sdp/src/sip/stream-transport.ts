import { createServer as createNetServer, connect as netConnect, type Server, type Socket } from 'node:net';
import {
  createServer as createTlsServer,
  connect as tlsConnect,
  type ConnectionOptions,
  type TlsOptions,
} from 'node:tls';
import { SessionError, abortError } from '../errors.js';
import type { TransportAddress } from '../sdp/description.js';
import type { DatagramTransport } from '../transport/datagram-transport.js';
import { isLoopback } from './admission.js';
import { createResponse, decodeSip, serializeSip } from './codec.js';
import { SipStreamFramer, type SipStreamFrame } from './stream-framer.js';
import type { DatagramReceiver, SipAddress, SipTransportName } from './transport.js';

/** Bounds of a stream transport (docs/decisions/session-sdp-stream-transports.md). */
export interface StreamLimits {
  /** Connections open at once, inbound and outbound; more are refused (closed at once, counted). */
  readonly maxConnections: number;
  /** Inbound connections from one IP address (clients behind one NAT share it); loopback addresses are exempt. */
  readonly maxConnectionsPerAddress: number;
  /** A connection with no octet either way for this long is closed (RFC 5626 clients ping well within it). */
  readonly idleTimeoutMs: number;
  /**
   * A message (and a TLS handshake) must complete within this once its first octet arrived: a slow-loris writer, or
   * a Content-Length larger than the body sent, is closed when it runs out.
   */
  readonly messageTimeoutMs: number;
  readonly maxHeaderOctets: number;
  readonly maxBodyOctets: number;
  /** Octets queued unsent on one connection (a reader that never reads); beyond it the connection is closed. */
  readonly maxQueuedOctets: number;
}

/**
 * Defaults. 16 384 connections hold ≈ 0.6 GiB at the ≈ 34 KB a bare `node:tls` server takes per idle connection
 * (the framer holds no buffer between messages); 256 per address leaves room for a NAT of phones; 300 s idle is
 * above RFC 5626's 95–120 s keepalive interval for streams; 10 s for a message is generous for any real client.
 */
export const DEFAULT_STREAM_LIMITS: StreamLimits = {
  maxConnections: 16_384,
  maxConnectionsPerAddress: 256,
  idleTimeoutMs: 300_000,
  messageTimeoutMs: 10_000,
  maxHeaderOctets: 16_384,
  maxBodyOctets: 65_536,
  maxQueuedOctets: 1_048_576,
};

export interface StreamSipTransportOptions extends Partial<StreamLimits> {
  readonly transport: 'TCP' | 'TLS';
  /** Address to listen on; default `127.0.0.1`. */
  readonly address?: string;
  /** Port; default 0 (any free port). */
  readonly port?: number;
  /** TLS: the server's certificate and key (PEM) and any other `node:tls` server option. Required for TLS. */
  readonly tls?: TlsOptions;
  /** TLS: options of connections this side opens (CA, `servername`); default `node:tls`'s (verified). */
  readonly connect?: ConnectionOptions;
  readonly signal?: AbortSignal;
}

/** Why a stream transport closed connections (`remote`: the other side closed it). */
export type StreamCloseReason = 'idle' | 'timeout' | 'framing' | 'tooLarge' | 'backlog' | 'remote' | 'error';

export interface StreamTransportStats {
  /** Inbound connections accepted. */
  accepted: number;
  /** Connections this side opened to send a request. */
  opened: number;
  /** Inbound connections refused at once: over the per-address or the total cap. */
  refused: { address: number; total: number };
  closed: Record<StreamCloseReason, number>;
  /** RFC 5626 CRLF CRLF pings answered with a CRLF. */
  pings: number;
  /** Framing errors answered (400 for a missing Content-Length, 413 for a body over the limit) before closing. */
  answered: number;
  messagesIn: number;
  messagesOut: number;
}

interface Connection {
  readonly socket: Socket;
  readonly key: string;
  readonly remote: SipAddress;
  readonly framer: SipStreamFramer;
  timer: NodeJS.Timeout | undefined;
}

/**
 * SIP over TCP or TLS (RFC 3261 §18): one listening socket, connections keyed by the remote address:port. A message
 * from a connection is passed up with that address (and `transport`); a message sent to an address goes on the
 * connection to it — the one the request came on, for a response (§18.2.2), or the client's own for a request to a
 * registered flow (RFC 5626) — else on a new connection to it. Framing by Content-Length, CRLF keepalives answered,
 * idle, slow-loris, size and connection caps enforced and counted in {@link stats}.
 */
export class StreamSipTransport implements DatagramTransport {
  readonly local: TransportAddress;
  readonly transport: 'TCP' | 'TLS';
  readonly limits: StreamLimits;
  readonly stats: StreamTransportStats = {
    accepted: 0,
    opened: 0,
    refused: { address: 0, total: 0 },
    closed: { idle: 0, timeout: 0, framing: 0, tooLarge: 0, backlog: 0, remote: 0, error: 0 },
    pings: 0,
    answered: 0,
    messagesIn: 0,
    messagesOut: 0,
  };
  readonly #server: Server;
  readonly #connect: ConnectionOptions | undefined;
  readonly #connections = new Map<string, Connection>();
  /** Inbound connections per remote IP address (raw sockets, counted before any TLS handshake). */
  readonly #perAddress = new Map<string, number>();
  /** Every socket open, framed or still in its TLS handshake: {@link close} ends them all. */
  readonly #sockets = new Set<Socket>();
  #open = 0;
  readonly #closeListeners = new Set<(remote: SipAddress) => void>();
  #receiver: DatagramReceiver = () => undefined;
  #closed = false;

  private constructor(
    server: Server,
    local: TransportAddress,
    options: StreamSipTransportOptions,
    limits: StreamLimits,
  ) {
    this.#server = server;
    this.local = local;
    this.transport = options.transport;
    this.limits = limits;
    this.#connect = options.connect;
  }

  /** Listens. Rejects with `TRANSPORT` if the bind fails or TLS lacks a certificate, `ABORTED` on the signal. */
  static async listen(options: StreamSipTransportOptions): Promise<StreamSipTransport> {
    if (options.signal?.aborted === true) throw abortError(options.signal);
    const limits: StreamLimits = { ...DEFAULT_STREAM_LIMITS, ...definedLimits(options) };
    const address = options.address ?? '127.0.0.1';
    if (options.transport === 'TLS' && (options.tls?.cert === undefined || options.tls.key === undefined))
      throw new SessionError('TRANSPORT', 'a TLS transport needs a certificate and a key');
    // The server's callbacks need the transport, which needs the bound server: filled in once listening.
    const ref: { transport?: StreamSipTransport } = {};
    const server =
      options.transport === 'TLS'
        ? createTlsServer({ handshakeTimeout: limits.messageTimeoutMs, ...options.tls }, (socket) => {
            if (ref.transport === undefined) socket.destroy();
            else ref.transport.#attach(socket);
          })
        : createNetServer();
    // Caps are checked on the raw socket, before a TLS handshake costs anything.
    server.on('connection', (socket: Socket) => {
      const transport = ref.transport;
      if (transport === undefined) socket.destroy();
      else if (transport.#admit(socket) && options.transport === 'TCP') transport.#attach(socket);
    });
    // A failed handshake (or a plain-text client on the TLS port) only closes its socket.
    server.on('tlsClientError', () => undefined);
    await new Promise<void>((resolve, reject) => {
      const onAbort = () => {
        server.close();
        reject(abortError(options.signal as AbortSignal));
      };
      options.signal?.addEventListener('abort', onAbort, { once: true });
      server.once('error', (cause) => {
        options.signal?.removeEventListener('abort', onAbort);
        reject(new SessionError('TRANSPORT', `cannot listen on ${address}:${options.port ?? 0}`, { cause }));
      });
      server.listen(options.port ?? 0, address, () => {
        options.signal?.removeEventListener('abort', onAbort);
        resolve();
      });
    });
    server.on('error', () => undefined);
    const bound = server.address();
    const port = typeof bound === 'object' && bound !== null ? bound.port : (options.port ?? 0);
    ref.transport = new StreamSipTransport(server, { address, port }, options, limits);
    return ref.transport;
  }

  /** Connections open now, inbound and outbound. */
  get connections(): number {
    return this.#open;
  }

  localFor(transport: SipTransportName): TransportAddress | undefined {
    return transport === this.transport ? this.local : undefined;
  }

  setReceiver(receiver: DatagramReceiver): void {
    this.#receiver = receiver;
  }

  /**
   * Calls `listener` with the remote address of every framed connection that closes, whatever closed it: the RFC
   * 5626 flow over it is dead (docs/decisions/node-peer-websocket-outbound.md). Returns the unsubscribe.
   */
  onConnectionClosed(listener: (remote: SipAddress) => void): () => void {
    this.#closeListeners.add(listener);
    return () => this.#closeListeners.delete(listener);
  }

  /**
   * Sends one message to `to` on its connection, opening one when there is none (writes queue until it connects; a
   * connection that fails closes and the transaction above times out). Throws `TRANSPORT` when closed or when `to`
   * names another transport.
   */
  send(message: Uint8Array, to: SipAddress): void {
    if (this.#closed) throw new SessionError('TRANSPORT', 'transport is closed');
    if (to.transport !== this.transport)
      throw new SessionError('TRANSPORT', `not a ${this.transport} address: ${to.transport ?? 'UDP'}`);
    const connection = this.#connections.get(keyOf(to)) ?? this.#dial(to);
    if (!this.#write(connection, message))
      throw new SessionError('TRANSPORT', `connection to ${to.address}:${to.port} closed`);
    this.stats.messagesOut++;
  }

  /** Closes the listener and every connection. */
  close(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.#closed = true;
    for (const socket of this.#sockets) socket.destroy();
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }

  /** Counts an inbound socket against the caps; false (and destroyed, counted) when refused. */
  #admit(socket: Socket): boolean {
    const address = socket.remoteAddress ?? '';
    const perAddress = this.#perAddress.get(address) ?? 0;
    const refusal =
      this.#closed || this.#open >= this.limits.maxConnections
        ? 'total'
        : !isLoopback(address) && perAddress >= this.limits.maxConnectionsPerAddress
          ? 'address'
          : undefined;
    if (refusal !== undefined) {
      this.stats.refused[refusal]++;
      socket.destroy();
      return false;
    }
    this.#open++;
    this.#perAddress.set(address, perAddress + 1);
    this.#sockets.add(socket);
    socket.once('close', () => {
      this.#sockets.delete(socket);
      this.#open--;
      const left = (this.#perAddress.get(address) ?? 1) - 1;
      if (left === 0) this.#perAddress.delete(address);
      else this.#perAddress.set(address, left);
    });
    // Until a TLS handshake ends, the server's handshake timeout (the message timeout) guards the socket.
    return true;
  }

  /** A connected socket (inbound, or TLS after its handshake): framing, timers, the table. */
  #attach(socket: Socket): void {
    if (socket.destroyed) return;
    this.stats.accepted++;
    const remote: SipAddress = {
      address: socket.remoteAddress ?? '',
      port: socket.remotePort ?? 0,
      transport: this.transport,
    };
    this.#track(socket, remote);
  }

  #dial(to: SipAddress): Connection {
    if (this.#open >= this.limits.maxConnections)
      throw new SessionError('TRANSPORT', `more than ${this.limits.maxConnections} connections`);
    const socket =
      this.transport === 'TLS'
        ? tlsConnect({ ...this.#connect, host: to.address, port: to.port })
        : netConnect({ host: to.address, port: to.port });
    this.stats.opened++;
    this.#open++;
    this.#sockets.add(socket);
    socket.once('close', () => {
      this.#sockets.delete(socket);
      this.#open--;
    });
    return this.#track(socket, { address: to.address, port: to.port, transport: this.transport });
  }

  #track(socket: Socket, remote: SipAddress): Connection {
    const key = keyOf(remote);
    const connection: Connection = {
      socket,
      key,
      remote,
      framer: new SipStreamFramer({
        maxHeaderOctets: this.limits.maxHeaderOctets,
        maxBodyOctets: this.limits.maxBodyOctets,
      }),
      timer: undefined,
    };
    // A newer connection from or to the same address:port replaces the entry; the older one still closes cleanly.
    this.#connections.set(key, connection);
    socket.setNoDelay(true);
    socket.setTimeout(this.limits.idleTimeoutMs, () => this.#drop(connection, 'idle'));
    socket.on('data', (chunk: Buffer) => this.#read(connection, chunk));
    socket.on('error', () => this.#drop(connection, 'error'));
    // The other side closed its half: node ends ours (no half-open connections); nothing more can arrive.
    socket.on('end', () => {
      this.stats.closed.remote++;
      if (this.#connections.get(key) === connection) this.#connections.delete(key);
    });
    socket.once('close', () => {
      if (connection.timer !== undefined) clearTimeout(connection.timer);
      if (this.#connections.get(key) === connection) this.#connections.delete(key);
      if (!this.#closed) for (const listener of this.#closeListeners) listener(remote);
    });
    return connection;
  }

  #read(connection: Connection, chunk: Buffer): void {
    for (const frame of connection.framer.push(chunk)) this.#frame(connection, frame);
    if (connection.socket.destroyed) return;
    if (connection.framer.atBoundary) {
      if (connection.timer !== undefined) clearTimeout(connection.timer);
      connection.timer = undefined;
    } else if (connection.timer === undefined) {
      connection.timer = setTimeout(() => this.#drop(connection, 'timeout'), this.limits.messageTimeoutMs);
    }
  }

  #frame(connection: Connection, frame: SipStreamFrame): void {
    switch (frame.kind) {
      case 'message':
        this.stats.messagesIn++;
        this.#receiver(frame.data, connection.remote);
        return;
      case 'ping':
        this.stats.pings++;
        this.#write(connection, PONG);
        return;
      case 'error': {
        const tooLarge = frame.error.code === 'TOO_LARGE';
        if (frame.header !== undefined) this.#answerFraming(connection, frame.header, tooLarge ? 413 : 400);
        this.#drop(connection, tooLarge ? 'tooLarge' : 'framing', true);
      }
    }
  }

  /** RFC 3261 §18.3 / §21.4.11: a request whose framing failed gets 400 (no Content-Length) or 413 before the close. */
  #answerFraming(connection: Connection, header: Uint8Array, status: 400 | 413): void {
    const decoded = decodeSip(Buffer.concat([header, HEADER_END]));
    const request = decoded.ok ? decoded.message : decoded.answerable;
    if (request === undefined || request.kind !== 'request' || request.method === 'ACK') return;
    const reason = status === 400 ? 'Bad Request - Content-Length required on a stream' : undefined;
    try {
      const response = createResponse(request, status, reason === undefined ? {} : { reason });
      if (this.#write(connection, serializeSip(response))) this.stats.answered++;
    } catch {
      // Headers that parse but cannot be echoed: the connection closes unanswered.
    }
  }

  /** Queues `octets`; false when the connection is closing or its backlog would pass the limit (then closed). */
  #write(connection: Connection, octets: Uint8Array): boolean {
    const socket = connection.socket;
    if (socket.destroyed || socket.writableEnded) return false;
    if (socket.writableLength + octets.length > this.limits.maxQueuedOctets) {
      this.#drop(connection, 'backlog');
      return false;
    }
    socket.write(octets);
    return true;
  }

  /** Closes a connection once, counted by `reason`; `graceful` lets a last answer leave first. */
  #drop(connection: Connection, reason: StreamCloseReason, graceful = false): void {
    const socket = connection.socket;
    if (socket.destroyed || socket.writableEnded) return;
    this.stats.closed[reason]++;
    if (this.#connections.get(connection.key) === connection) this.#connections.delete(connection.key);
    if (graceful) {
      socket.end();
      // A peer that never reads must not keep the socket: destroyed after the slow-loris time at most.
      setTimeout(() => socket.destroy(), this.limits.messageTimeoutMs).unref();
    } else {
      socket.destroy();
    }
  }
}

const PONG = Buffer.from('\r\n');
const HEADER_END = Buffer.from('\r\n\r\n');

function keyOf(address: TransportAddress): string {
  return `${address.address}|${address.port}`;
}

/** The limits set in `options` (undefined ones left to the defaults); RangeError for a negative or fractional one. */
export function definedLimits(options: Partial<StreamLimits>): Partial<StreamLimits> {
  const limits: Partial<Record<keyof StreamLimits, number>> = {};
  for (const name of Object.keys(DEFAULT_STREAM_LIMITS) as (keyof StreamLimits)[]) {
    const value = options[name];
    if (value === undefined) continue;
    if (!Number.isInteger(value) || value < 0) throw new RangeError(`${name} must be a non-negative integer`);
    limits[name] = value;
  }
  return limits;
}
