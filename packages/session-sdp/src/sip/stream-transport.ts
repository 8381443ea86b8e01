import { createServer as createNetServer, connect as netConnect, type Server, type Socket } from 'node:net';
import {
  createServer as createTlsServer,
  connect as tlsConnect,
  type ConnectionOptions,
  type TlsOptions,
} from 'node:tls';
import { SessionError } from '../errors.js';
import type { TransportAddress } from '../sdp/description.js';
import type { DatagramTransport } from '../transport/datagram-transport.js';
import { createResponse, decodeSip, serializeSip } from './codec.js';
import {
  ConnectionCore,
  HEADER_END,
  PONG,
  forget,
  keyOf,
  listenServer,
  listenSettings,
} from './connection-core.js';
import type { StreamLimits } from './stream-limits.js';
import { SipStreamFramer, type SipStreamFrame } from './stream-framer.js';
import type { DatagramReceiver, SipAddress, SipTransportName } from './transport.js';

export { DEFAULT_STREAM_LIMITS, definedLimits, type StreamLimits } from './stream-limits.js';

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
  readonly #core: ConnectionCore;
  readonly #connect: ConnectionOptions | undefined;
  readonly #connections = new Map<string, Connection>();

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
    this.#core = new ConnectionCore(options.transport, limits, this.stats.refused);
    this.#connect = options.connect;
  }

  /** Listens. Rejects with `TRANSPORT` if the bind fails or TLS lacks a certificate, `ABORTED` on the signal. */
  static async listen(options: StreamSipTransportOptions): Promise<StreamSipTransport> {
    const { limits, address } = listenSettings(options, options.transport === 'TLS', 'TLS');
    // The server's callbacks need the transport, which needs the bound server: filled in once listening.
    const ref: { transport?: StreamSipTransport } = {};
    const server =
      options.transport === 'TLS'
        ? createTlsServer({ handshakeTimeout: limits.messageTimeoutMs, ...options.tls }, (socket) => {
            if (ref.transport === undefined) socket.destroy();
            else ref.transport.#attach(socket);
          })
        : createNetServer();
    // Caps are checked on the raw socket, before a TLS handshake costs anything; until the handshake ends, the
    // server's handshake timeout (the message timeout) guards the socket.
    server.on('connection', (socket: Socket) => {
      const transport = ref.transport;
      if (transport === undefined) socket.destroy();
      else if (transport.#core.admit(socket) && options.transport === 'TCP') transport.#attach(socket);
    });
    const local = await listenServer(server, address, options);
    ref.transport = new StreamSipTransport(server, local, options, limits);
    return ref.transport;
  }

  /** Connections open now, inbound and outbound. */
  get connections(): number {
    return this.#core.sockets;
  }

  localFor(transport: SipTransportName): TransportAddress | undefined {
    return this.#core.localFor(transport, this.local);
  }

  setReceiver(receiver: DatagramReceiver): void {
    this.#core.receiver = receiver;
  }

  /**
   * Calls `listener` with the remote address of every framed connection that closes, whatever closed it: the RFC
   * 5626 flow over it is dead (docs/decisions/node-peer-websocket-outbound.md). Returns the unsubscribe.
   */
  onConnectionClosed(listener: (remote: SipAddress) => void): () => void {
    return this.#core.onConnectionClosed(listener);
  }

  /**
   * Sends one message to `to` on its connection, opening one when there is none (writes queue until it connects; a
   * connection that fails closes and the transaction above times out). Throws `TRANSPORT` when closed or when `to`
   * names another transport.
   */
  send(message: Uint8Array, to: SipAddress): void {
    const connection = this.#connections.get(this.#core.sendKey(to)) ?? this.#dial(to);
    if (!this.#write(connection, message))
      throw new SessionError('TRANSPORT', `connection to ${to.address}:${to.port} closed`);
    this.stats.messagesOut++;
  }

  /** Closes the listener and every connection. */
  close(): Promise<void> {
    return this.#core.close(this.#server);
  }

  /** A connected socket (inbound, or TLS after its handshake): framing, timers, the table. */
  #attach(socket: Socket): void {
    if (socket.destroyed) return;
    this.stats.accepted++;
    this.#track(socket, this.#core.remoteOf(socket));
  }

  #dial(to: SipAddress): Connection {
    if (this.#core.sockets >= this.limits.maxConnections)
      throw new SessionError('TRANSPORT', `more than ${this.limits.maxConnections} connections`);
    const socket =
      this.transport === 'TLS'
        ? tlsConnect({ ...this.#connect, host: to.address, port: to.port })
        : netConnect({ host: to.address, port: to.port });
    this.stats.opened++;
    this.#core.adopt(socket);
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
      forget(this.#connections, key, connection);
    });
    socket.once('close', () => {
      if (connection.timer !== undefined) clearTimeout(connection.timer);
      forget(this.#connections, key, connection);
      this.#core.connectionClosed(remote);
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
        this.#core.receiver(frame.data, connection.remote);
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
    forget(this.#connections, connection.key, connection);
    if (graceful) {
      socket.end();
      // A peer that never reads must not keep the socket: destroyed after the slow-loris time at most.
      setTimeout(() => socket.destroy(), this.limits.messageTimeoutMs).unref();
    } else {
      socket.destroy();
    }
  }
}
