import { createServer as createHttpServer, type IncomingMessage, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { Socket } from 'node:net';
import type { TlsOptions } from 'node:tls';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import { SessionError } from '../errors.js';
import type { TransportAddress } from '../sdp/description.js';
import type { DatagramTransport } from '../transport/datagram-transport.js';
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
import type { DatagramReceiver, SipAddress, SipTransportName } from './transport.js';

/** The WebSocket subprotocol of SIP (RFC 7118 §4.1); an upgrade that does not offer it is refused. */
export const SIP_WS_SUBPROTOCOL = 'sip';

export interface WsSipTransportOptions extends Partial<StreamLimits> {
  readonly transport: 'WS' | 'WSS';
  /** Address to listen on; default `127.0.0.1`. */
  readonly address?: string;
  /** Port; default 0 (any free port). */
  readonly port?: number;
  /** WSS: the server's certificate and key (PEM), and any other `node:tls` server option. Required for WSS. */
  readonly tls?: TlsOptions;
  readonly signal?: AbortSignal;
}

/** Why a WebSocket transport closed connections (`protocol`: an upgrade without the `sip` subprotocol). */
export type WsCloseReason = 'idle' | 'timeout' | 'tooLarge' | 'backlog' | 'remote' | 'error' | 'protocol';

export interface WsTransportStats {
  /** WebSocket connections accepted (after the upgrade). */
  accepted: number;
  /** Sockets refused at once: over the per-address or the total cap. */
  refused: { address: number; total: number };
  closed: Record<WsCloseReason, number>;
  /** CRLF CRLF keepalives (RFC 5626 §3.5.1 on a WebSocket message) answered with a CRLF. */
  pings: number;
  messagesIn: number;
  messagesOut: number;
}

interface Connection {
  readonly ws: WebSocket;
  readonly key: string;
  readonly remote: SipAddress;
  idle: NodeJS.Timeout | undefined;
  /** Ends the connection, counted by `why` (set once the WebSocket is attached). */
  close?: (why: WsCloseReason) => void;
}

/**
 * SIP over WebSocket (RFC 7118): an HTTP(S) listener that upgrades only requests offering the `sip` subprotocol;
 * each WebSocket message is one SIP message (no Content-Length framing). Messages are passed up with the remote
 * address:port and `transport` WS|WSS, and a message to that address goes back on its connection. A WebSocket
 * server cannot reach a browser by itself: sending to an address with no connection throws `TRANSPORT` (a request to
 * a client goes over its flow, RFC 5626). The stream transports' bounds apply: connection caps checked on the raw
 * socket, idle and handshake timeouts, header and body sizes (a larger message closes the connection, 1009), unsent
 * backlog; all counted in {@link stats}.
 */
export class WsSipTransport implements DatagramTransport {
  readonly local: TransportAddress;
  readonly transport: 'WS' | 'WSS';
  readonly limits: StreamLimits;
  readonly stats: WsTransportStats = {
    accepted: 0,
    refused: { address: 0, total: 0 },
    closed: { idle: 0, timeout: 0, tooLarge: 0, backlog: 0, remote: 0, error: 0, protocol: 0 },
    pings: 0,
    messagesIn: 0,
    messagesOut: 0,
  };
  readonly #server: Server;
  readonly #core: ConnectionCore;
  readonly #wss: WebSocketServer;
  readonly #connections = new Map<string, Connection>();

  private constructor(
    server: Server,
    local: TransportAddress,
    transport: 'WS' | 'WSS',
    limits: StreamLimits,
  ) {
    this.#server = server;
    this.local = local;
    this.transport = transport;
    this.limits = limits;
    this.#core = new ConnectionCore(transport, limits, this.stats.refused);
    this.#wss = new WebSocketServer({
      noServer: true,
      // The whole message is held once: its header block and body bounds, plus the blank line between.
      maxPayload: limits.maxHeaderOctets + limits.maxBodyOctets + 4,
      perMessageDeflate: false,
      handleProtocols: (protocols) => (protocols.has(SIP_WS_SUBPROTOCOL) ? SIP_WS_SUBPROTOCOL : false),
    });
    server.on('connection', (socket: Socket) => this.#core.admit(socket));
    server.on('upgrade', (request: IncomingMessage, socket: Socket, head: Buffer) =>
      this.#upgrade(request, socket, head),
    );
    // Plain HTTP on a SIP WebSocket port: nothing to serve.
    server.on('request', (_request, response) => {
      response.writeHead(426, { Connection: 'close', Upgrade: 'websocket' }).end();
    });
  }

  /** Listens. Rejects with `TRANSPORT` if the bind fails or WSS lacks a certificate, `ABORTED` on the signal. */
  static async listen(options: WsSipTransportOptions): Promise<WsSipTransport> {
    const { limits, address } = listenSettings(options, options.transport === 'WSS', 'WSS');
    const server =
      options.transport === 'WSS'
        ? createHttpsServer({ handshakeTimeout: limits.messageTimeoutMs, ...options.tls })
        : createHttpServer();
    // The upgrade request must arrive within the slow-loris bound.
    server.headersTimeout = limits.messageTimeoutMs;
    server.requestTimeout = limits.messageTimeoutMs;
    const local = await listenServer(server, address, options);
    return new WsSipTransport(server, local, options.transport, limits);
  }

  /** WebSocket connections open now. */
  get connections(): number {
    return this.#connections.size;
  }

  localFor(transport: SipTransportName): TransportAddress | undefined {
    return this.#core.localFor(transport, this.local);
  }

  setReceiver(receiver: DatagramReceiver): void {
    this.#core.receiver = receiver;
  }

  /** Calls `listener` with the address of every connection that closes (an RFC 5626 flow that died). */
  onConnectionClosed(listener: (remote: SipAddress) => void): () => void {
    return this.#core.onConnectionClosed(listener);
  }

  /** Sends one message on the connection from `to`. Throws `TRANSPORT` when there is none, or when closed. */
  send(message: Uint8Array, to: SipAddress): void {
    const connection = this.#connections.get(this.#core.sendKey(to));
    if (connection === undefined || !this.#write(connection, message))
      throw new SessionError('TRANSPORT', `no ${this.transport} connection from ${to.address}:${to.port}`);
    this.stats.messagesOut++;
  }

  close(): Promise<void> {
    return this.#core.close(this.#server, () => this.#wss.close());
  }

  /** RFC 7118 §4.1: only an upgrade offering `sip` is accepted; any other is answered 400 and closed. */
  #upgrade(request: IncomingMessage, socket: Socket, head: Buffer): void {
    const offered = (request.headers['sec-websocket-protocol'] ?? '').split(',').map((p) => p.trim());
    if (!offered.includes(SIP_WS_SUBPROTOCOL) || this.#core.closed) {
      this.stats.closed.protocol++;
      socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      setTimeout(() => socket.destroy(), 1_000).unref();
      return;
    }
    this.#wss.handleUpgrade(request, socket, head, (ws) => this.#attach(ws, socket));
  }

  #attach(ws: WebSocket, socket: Socket): void {
    this.stats.accepted++;
    const remote = this.#core.remoteOf(socket);
    const connection: Connection = { ws, key: keyOf(remote), remote, idle: undefined };
    this.#connections.set(connection.key, connection);
    this.#touch(connection);
    let reason: WsCloseReason = 'remote';
    ws.on('message', (data: RawData, isBinary: boolean) => {
      this.#touch(connection);
      const octets = toBuffer(data);
      if (isCrlfPing(octets)) {
        this.stats.pings++;
        this.#write(connection, PONG);
        return;
      }
      const headerEnd = octets.indexOf(HEADER_END);
      const headerOctets = headerEnd < 0 ? octets.length : headerEnd;
      const bodyOctets = headerEnd < 0 ? 0 : octets.length - headerEnd - HEADER_END.length;
      if (headerOctets > this.limits.maxHeaderOctets || bodyOctets > this.limits.maxBodyOctets) {
        reason = 'tooLarge';
        ws.close(1009, 'message too big');
        return;
      }
      void isBinary; // RFC 7118 §5.1: text or binary frames both carry a SIP message.
      this.stats.messagesIn++;
      this.#core.receiver(octets, remote);
    });
    ws.on('pong', () => this.#touch(connection));
    ws.on('ping', () => this.#touch(connection));
    ws.on('error', (error: Error & { code?: string }) => {
      reason = error.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH' ? 'tooLarge' : 'error';
    });
    ws.once('close', () => {
      if (connection.idle !== undefined) clearTimeout(connection.idle);
      forget(this.#connections, connection.key, connection);
      this.stats.closed[reason]++;
      this.#core.connectionClosed(remote);
    });
    connection.close = (why: WsCloseReason) => {
      reason = why;
      ws.terminate();
    };
  }

  #touch(connection: Connection): void {
    if (connection.idle !== undefined) clearTimeout(connection.idle);
    connection.idle = setTimeout(() => connection.close?.('idle'), this.limits.idleTimeoutMs);
    connection.idle.unref?.();
  }

  #write(connection: Connection, octets: Uint8Array): boolean {
    const ws = connection.ws;
    if (ws.readyState !== ws.OPEN) return false;
    if (ws.bufferedAmount + octets.length > this.limits.maxQueuedOctets) {
      connection.close?.('backlog');
      return false;
    }
    ws.send(octets, { binary: false });
    return true;
  }
}

function isCrlfPing(octets: Buffer): boolean {
  return octets.length > 0 && octets.length <= 4 && octets.every((o) => o === 0x0d || o === 0x0a);
}

function toBuffer(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}
