import type { Server, Socket } from 'node:net';
import type { TlsOptions } from 'node:tls';
import { SessionError, abortError } from '../errors.js';
import type { TransportAddress } from '../sdp/description.js';
import { isLoopback } from './admission.js';
import { bindOrAbort } from './bind.js';
import { unmapIpv4 } from './dual-stack.js';
import { DEFAULT_STREAM_LIMITS, definedLimits, type StreamLimits } from './stream-limits.js';
import type { DatagramReceiver, SipAddress, SipTransportName } from './transport.js';

/**
 * What the connection transports (TCP/TLS in stream-transport.ts, WS/WSS in ws-transport.ts) share: the listen
 * preamble, the raw-socket caps, the close listeners, the send guard and the shutdown. Each composes one
 * {@link ConnectionCore} and keeps only its own framing and connection table.
 */

/** The options both connection transports listen with. */
export interface ConnectionListenOptions extends Partial<StreamLimits> {
  /** Address to listen on; default `127.0.0.1`. */
  readonly address?: string;
  /** Port; default 0 (any free port). */
  readonly port?: number;
  /** The server's certificate and key (PEM) and any other `node:tls` server option. Required when secure. */
  readonly tls?: TlsOptions;
  readonly signal?: AbortSignal;
}

/**
 * Checks `options` before any socket exists: `ABORTED` on an aborted signal, RangeError for a bad limit, `TRANSPORT`
 * when a `secure` transport (`name` in the message) lacks a certificate. Returns the full limits and the address.
 */
export function listenSettings(
  options: ConnectionListenOptions,
  secure: boolean,
  name: string,
): { limits: StreamLimits; address: string } {
  if (options.signal?.aborted === true) throw abortError(options.signal);
  const limits: StreamLimits = { ...DEFAULT_STREAM_LIMITS, ...definedLimits(options) };
  const address = options.address ?? '127.0.0.1';
  if (secure && (options.tls?.cert === undefined || options.tls.key === undefined))
    throw new SessionError('TRANSPORT', `a ${name} transport needs a certificate and a key`);
  return { limits, address };
}

/** Listens `server` at `address` and `options.port`; resolves with the address bound. Errors as {@link bindOrAbort}. */
export async function listenServer(
  server: Server,
  address: string,
  options: ConnectionListenOptions,
): Promise<TransportAddress> {
  const port = options.port ?? 0;
  // A failed handshake (or a plain-text client on a TLS port) only closes its socket.
  server.on('tlsClientError', () => undefined);
  await bindOrAbort(
    server,
    (bound) => server.listen(port, address, bound),
    `cannot listen on ${address}:${port}`,
    options.signal,
  );
  // Once listening, a server error is one socket's: the connection closes, the transport goes on.
  server.on('error', () => undefined);
  const bound = server.address();
  return { address, port: typeof bound === 'object' && bound !== null ? bound.port : port };
}

/** Refusals of inbound sockets at the caps, as both transports count them in their stats. */
export interface RefusalCounts {
  address: number;
  total: number;
}

/**
 * The state a connection transport keeps about its sockets, whatever runs on them: every socket open (framed or in
 * a handshake, so that closing ends them all), inbound sockets per remote IP address (the caps are checked on the
 * raw socket, before a TLS handshake or an HTTP upgrade costs anything), the close listeners and the receiver.
 */
export class ConnectionCore {
  readonly transport: SipTransportName;
  readonly limits: StreamLimits;
  /** Who receives framed messages; one at a time. */
  receiver: DatagramReceiver = () => undefined;
  readonly #refused: RefusalCounts;
  readonly #sockets = new Set<Socket>();
  readonly #perAddress = new Map<string, number>();
  readonly #closeListeners = new Set<(remote: SipAddress) => void>();
  #closed = false;

  constructor(transport: SipTransportName, limits: StreamLimits, refused: RefusalCounts) {
    this.transport = transport;
    this.limits = limits;
    this.#refused = refused;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Sockets open now, inbound and outbound, framed or not. */
  get sockets(): number {
    return this.#sockets.size;
  }

  localFor(transport: SipTransportName, local: TransportAddress): TransportAddress | undefined {
    return transport === this.transport ? local : undefined;
  }

  onConnectionClosed(listener: (remote: SipAddress) => void): () => void {
    this.#closeListeners.add(listener);
    return () => this.#closeListeners.delete(listener);
  }

  /** Tells the listeners that the connection to `remote` closed; silent once the transport itself is closing. */
  connectionClosed(remote: SipAddress): void {
    if (!this.#closed) for (const listener of this.#closeListeners) listener(remote);
  }

  /** The connection key of `to`. Throws `TRANSPORT` when closed or when `to` names another transport. */
  sendKey(to: SipAddress): string {
    if (this.#closed) throw new SessionError('TRANSPORT', 'transport is closed');
    if (to.transport !== this.transport)
      throw new SessionError('TRANSPORT', `not a ${this.transport} address: ${to.transport ?? 'UDP'}`);
    return keyOf(to);
  }

  /** Where `socket` comes from, as a SIP address on this transport. */
  remoteOf(socket: Socket): SipAddress {
    return {
      address: unmapIpv4(socket.remoteAddress ?? ''),
      port: socket.remotePort ?? 0,
      transport: this.transport,
    };
  }

  /** Counts an inbound socket against the caps; false (and destroyed, counted) when refused. */
  admit(socket: Socket): boolean {
    const address = unmapIpv4(socket.remoteAddress ?? '');
    const perAddress = this.#perAddress.get(address) ?? 0;
    const refusal =
      this.#closed || this.#sockets.size >= this.limits.maxConnections
        ? 'total'
        : !isLoopback(address) && perAddress >= this.limits.maxConnectionsPerAddress
          ? 'address'
          : undefined;
    if (refusal !== undefined) {
      this.#refused[refusal]++;
      socket.destroy();
      return false;
    }
    this.#perAddress.set(address, perAddress + 1);
    this.adopt(socket);
    socket.once('close', () => {
      const left = (this.#perAddress.get(address) ?? 1) - 1;
      if (left === 0) this.#perAddress.delete(address);
      else this.#perAddress.set(address, left);
    });
    return true;
  }

  /** Holds `socket` (inbound, or one this side opened) until it closes: {@link close} ends it. */
  adopt(socket: Socket): void {
    this.#sockets.add(socket);
    socket.once('close', () => this.#sockets.delete(socket));
  }

  /** Ends every socket, then `shutdown` (what else the transport holds), then the listener; once. */
  close(server: Server, shutdown?: () => void): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.#closed = true;
    for (const socket of this.#sockets) socket.destroy();
    shutdown?.();
    return new Promise((resolve) => server.close(() => resolve()));
  }
}

/** Removes `connection` from `table` unless a newer connection to the same address already replaced it. */
export function forget<C>(table: Map<string, C>, key: string, connection: C): void {
  if (table.get(key) === connection) table.delete(key);
}

export function keyOf(address: TransportAddress): string {
  return `${address.address}|${address.port}`;
}

/** RFC 5626 §4.4.1: a CRLF CRLF ping is answered with one CRLF. */
export const PONG = Buffer.from('\r\n');
export const HEADER_END = Buffer.from('\r\n\r\n');
