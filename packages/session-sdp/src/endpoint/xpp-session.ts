import {
  Emitter,
  type Operations,
  type ChannelStats,
  type OperationsStats,
  type ReceivedMessage,
  type ReliabilityError,
  type ReliableChannel,
  type RequestHandler,
  type RequestOptions,
  type SendOptions,
} from '@xpp/reliability';
import type { Message, XppOption } from '@xpp/wire';
import type { CipherStats } from '../crypto/session-cipher.js';
import type { TransportAddress } from '../sdp/description.js';
import type { SessionPort } from './session-port.js';

export interface XppSessionEvents {
  /** Both SYNs are through: requests and messages flow. */
  open: () => void;
  /** Three keepalives went unanswered (spec §6); `close` follows. */
  dead: () => void;
  /** The session ended; `error` says why unless it was closed on purpose (BYE, `close()`). */
  close: (error: ReliabilityError | undefined) => void;
  /** The peer's address changed (NAT rebinding), after the fragment authenticated or was in window. */
  rebind: (address: TransportAddress) => void;
}

export interface XppSessionStats {
  readonly localLtag: number;
  readonly remoteLtag: number;
  readonly secure: boolean;
  readonly remote: TransportAddress | undefined;
  readonly channel: ChannelStats;
  readonly operations: OperationsStats;
  readonly cipher: CipherStats | undefined;
  readonly sendErrors: number;
}

/**
 * One XPP session (spec §4–§7), opened by an {@link XppEndpoint}: messages and request/response operations with
 * the peer over its reliable channel, sealed when both sides gave keys.
 */
export class XppSession {
  readonly localLtag: number;
  readonly remoteLtag: number;
  readonly secure: boolean;
  readonly #channel: ReliableChannel;
  readonly #operations: Operations;
  readonly #port: SessionPort;
  readonly #cipherStats: CipherStats | undefined;
  readonly #events = new Emitter<XppSessionEvents>();

  /** @internal Made by the endpoint. */
  constructor(init: {
    localLtag: number;
    remoteLtag: number;
    channel: ReliableChannel;
    operations: Operations;
    port: SessionPort;
    cipherStats: CipherStats | undefined;
  }) {
    this.localLtag = init.localLtag;
    this.remoteLtag = init.remoteLtag;
    this.secure = init.cipherStats !== undefined;
    this.#channel = init.channel;
    this.#operations = init.operations;
    this.#port = init.port;
    this.#cipherStats = init.cipherStats;
    this.#channel.on('open', () => this.#events.emit('open'));
    this.#channel.on('deadpeer', () => this.#events.emit('dead'));
    this.#channel.on('close', (error) => this.#events.emit('close', error));
  }

  on<K extends keyof XppSessionEvents>(event: K, listener: XppSessionEvents[K]): () => void {
    return this.#events.on(event, listener);
  }

  get isOpen(): boolean {
    return this.#channel.isOpen;
  }

  get isClosed(): boolean {
    return this.#channel.isClosed;
  }

  /** The peer's confirmed address: the first candidate that completed, or where it rebound to since. */
  get remote(): TransportAddress | undefined {
    return this.#port.remote;
  }

  /** Sends a request and resolves with its response (see `Operations.request` of @xpp/reliability). */
  request(type: number, options: readonly XppOption[] = [], init: RequestOptions = {}): Promise<Message> {
    return this.#operations.request(type, options, init);
  }

  /** Answers requests of operation `type`; returns the function that removes the handler. */
  handle(type: number, handler: RequestHandler): () => void {
    return this.#operations.handle(type, handler);
  }

  /** Sends one message, reliably by default (see `ReliableChannel.send`). */
  send(message: Message | Uint8Array, options: SendOptions = {}): Promise<void> {
    return this.#channel.send(message, options);
  }

  /** Every received message in order, requests and responses included. */
  messages(options: { signal?: AbortSignal } = {}): AsyncIterableIterator<ReceivedMessage> {
    return this.#channel.messages(options);
  }

  get stats(): XppSessionStats {
    return {
      localLtag: this.localLtag,
      remoteLtag: this.remoteLtag,
      secure: this.secure,
      remote: this.#port.remote,
      channel: this.#channel.stats,
      operations: this.#operations.stats,
      cipher: this.#cipherStats === undefined ? undefined : { ...this.#cipherStats },
      sendErrors: this.#port.sendErrors,
    };
  }

  /** @internal The endpoint saw the peer move to `address`. */
  emitRebind(address: TransportAddress): void {
    this.#events.emit('rebind', address);
  }

  /** Ends the session (after a BYE, or to send one): timers and buffers are released at once. Idempotent. */
  close(error?: ReliabilityError): void {
    this.#channel.close(error);
  }
}
