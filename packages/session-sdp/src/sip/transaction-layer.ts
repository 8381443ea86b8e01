import { randomBytes } from 'node:crypto';
import { systemClock, type Clock } from '@xpp/reliability';
import { SessionError } from '../errors.js';
import type { TransportAddress } from '../sdp/description.js';
import {
  TransactionAdmission,
  type AdmissionRefusal,
  type AdmissionTicket,
  type TransactionAdmissionPolicy,
} from './admission.js';
import { ClientTransaction } from './client-transaction.js';
import { createResponse, decodeSip, parseCSeq, serializeSip, type SipCodecLimits } from './codec.js';
import { REASON_PHRASES, type SipRequest, type SipResponse } from './message.js';
import { ServerTransaction } from './server-transaction.js';
import { DEFAULT_SIP_TIMERS, type SipTimerValues } from './timer-set.js';
import type { ClientTransactionUser, TransactionContext } from './transaction-context.js';
import {
  isStreamTransport,
  type DatagramFilter,
  type InboundDatagram,
  type SipAddress,
  type SipTransport,
  type SipTransportName,
} from './transport.js';
import { BRANCH_MAGIC_COOKIE, branchOf, formatVia, parseVia, responseTarget, stampReceived } from './via.js';
import { familyOf } from './dual-stack.js';

/**
 * Default hard bound on live transactions, client and server together: room for the admission policy's server
 * transactions (`DEFAULT_SERVER_TRANSACTION_LIMITS.total`, 16 384) and as many client transactions (a proxy opens
 * one for each request it forwards). See the policy for the memory this takes.
 */
export const DEFAULT_MAX_TRANSACTIONS = 32_768;

/** Why the layer refused a new request 503: the admission policy's reasons, or `table` (the hard bound). */
export type OverloadReason = AdmissionRefusal | 'table';

/** Counters of everything the layer dropped or answered on its own. */
export interface SipLayerStats {
  received: number;
  sent: number;
  /** Datagrams that were not SIP, or not answerable SIP: counted and dropped. */
  malformedDropped: number;
  /** Requests answered 400 by the layer. */
  badRequestsAnswered: number;
  /** Responses that matched no client transaction (passed to `onStrayResponse`). */
  strayResponses: number;
  /** Requests refused with 503 (with Retry-After) for want of a server transaction slot, in all. */
  overloadRejected: number;
  /** The same, by reason. */
  overloadByReason: Record<OverloadReason, number>;
  sendErrors: number;
  /**
   * Exceptions thrown by `onRequest`/`onStrayResponse` (a thrown request handler gets 500 sent for it) and by
   * datagram filters (the datagram then goes on to the SIP codec).
   */
  handlerErrors: number;
  /** Datagrams a {@link DatagramFilter} consumed: not counted in {@link received}, never parsed as SIP. */
  diverted: number;
}

export interface SipTransactionLayerOptions extends SipCodecLimits {
  readonly transport: SipTransport;
  readonly clock?: Clock;
  readonly timers?: Partial<SipTimerValues>;
  /** Hard bound on live transactions, client and server. Default {@link DEFAULT_MAX_TRANSACTIONS}. */
  readonly maxTransactions?: number;
  /**
   * Who may open a server transaction (per-source, per-address and total shares). Default a
   * {@link TransactionAdmission} with its default limits; see also {@link SipTransactionLayer.setAdmissionPolicy}.
   */
  readonly admission?: TransactionAdmissionPolicy;
  /**
   * A new request. `transaction` is the server transaction to answer through; it is undefined for an ACK that
   * matched none (the ACK of a 2xx, which belongs to the dialog).
   */
  readonly onRequest: (
    request: SipRequest,
    transaction: ServerTransaction | undefined,
    source: SipAddress,
  ) => void;
  /** A response that matched no client transaction (a 2xx retransmission after the INVITE transaction ended). */
  readonly onStrayResponse?: (response: SipResponse, source: SipAddress) => void;
}

/**
 * RFC 3261 §17 transaction layer over one transport: matches requests and responses to transactions
 * (§17.1.3, §17.2.3), answers malformed requests with 400, stamps `received`/`rport` (RFC 3581), and sends
 * 100 Trying for INVITE. Reusable by a UA, a registrar or a proxy.
 */
export class SipTransactionLayer {
  readonly stats: SipLayerStats = {
    received: 0,
    sent: 0,
    malformedDropped: 0,
    badRequestsAnswered: 0,
    strayResponses: 0,
    overloadRejected: 0,
    overloadByReason: { source: 0, address: 0, reserved: 0, class: 0, total: 0, table: 0 },
    sendErrors: 0,
    handlerErrors: 0,
    diverted: 0,
  };
  // Private: the layer owns the transport's one receiver; others reach the socket through `local` and filters.
  readonly #transport: SipTransport;
  #filters: readonly DatagramFilter[] = [];
  readonly #options: SipTransactionLayerOptions;
  readonly #clients = new Map<string, ClientTransaction>();
  readonly #servers = new Map<string, ServerTransaction>();
  /** The admission slot each live server transaction holds, by key: released when it ends. */
  readonly #tickets = new Map<string, AdmissionTicket>();
  #admission: TransactionAdmissionPolicy;
  readonly #context: TransactionContext;
  readonly #maxTransactions: number;
  #closed = false;

  constructor(options: SipTransactionLayerOptions) {
    this.#options = options;
    this.#transport = options.transport;
    this.#maxTransactions = options.maxTransactions ?? DEFAULT_MAX_TRANSACTIONS;
    this.#admission = options.admission ?? new TransactionAdmission();
    this.#context = {
      clock: options.clock ?? systemClock,
      timers: { ...DEFAULT_SIP_TIMERS, ...options.timers },
      send: (datagram, to) => this.#send(datagram, to),
      terminated: (key) => {
        this.#clients.delete(key);
        this.#servers.delete(key);
        this.#release(key);
      },
    };
    options.transport.setReceiver((datagram, source) => this.receive(datagram, source));
  }

  /**
   * The address and port of the layer's socket: what its Via headers advertise, and where a request must be sent
   * to reach this layer (a proxy compares Route headers with it).
   */
  get local(): TransportAddress {
    return this.#transport.local;
  }

  /**
   * Lets `filter` see each datagram the socket reads before the SIP codec does, to answer or divert what is not
   * SIP (STUN Binding requests and CRLF keepalives of RFC 5626 §4.4, a protocol sharing the port). Filters run in
   * the order added; the first that returns `true` consumes the datagram, which the SIP layer then never sees
   * (counted in `stats.diverted`). A filter that throws is counted in `stats.handlerErrors` and passes the
   * datagram on. Returns a function that removes the filter.
   */
  addDatagramFilter(filter: DatagramFilter): () => void {
    // Copy on write: a filter removing itself mid-dispatch does not disturb the loop running it.
    this.#filters = [...this.#filters, filter];
    return () => {
      this.#filters = this.#filters.filter((f) => f !== filter);
    };
  }

  /**
   * Replaces the admission policy for new server transactions (an application that shares a node's socket sets its
   * own limits); transactions already admitted release their slots to the policy that admitted them.
   */
  setAdmissionPolicy(policy: TransactionAdmissionPolicy): void {
    this.#admission = policy;
  }

  /**
   * Where this layer is reached over `transport` (what a Via or Record-Route names for it): {@link local} for UDP,
   * the listener's address for TCP or TLS; undefined when the layer's transport has no such listener. `family`: the
   * IP family of the side it is for (a dual-stack transport names itself in that family).
   */
  localFor(transport: SipTransportName, family?: 4 | 6): TransportAddress | undefined {
    if (this.#transport.localFor !== undefined) return this.#transport.localFor(transport, family);
    return transport === 'UDP' ? this.#transport.local : undefined;
  }

  get timers(): SipTimerValues {
    return this.#context.timers;
  }

  get clock(): Clock {
    return this.#context.clock;
  }

  /** Live transactions. */
  get size(): number {
    return this.#clients.size + this.#servers.size;
  }

  /**
   * Of {@link size}, the INVITE server transactions in RFC 6026's Accepted state: answered 2xx, each kept only to
   * absorb retransmissions of its INVITE until Timer L (64·T1) ends it.
   */
  get accepted(): number {
    let count = 0;
    for (const transaction of this.#servers.values()) if (transaction.state === 'accepted') count++;
    return count;
  }

  /** A fresh RFC 3261 branch. */
  static newBranch(): string {
    return `${BRANCH_MAGIC_COOKIE}${randomBytes(9).toString('base64url')}`;
  }

  /**
   * The Via this layer puts on a request it originates: its transport address, a new branch, and `rport`
   * (RFC 3581) so the response tells the reflexive address.
   */
  newVia(): string {
    const { address, port } = this.#transport.local;
    return formatVia({
      protocol: 'SIP/2.0/UDP',
      host: address,
      port,
      params: new Map([
        ['branch', SipTransactionLayer.newBranch()],
        ['rport', null],
      ]),
    });
  }

  /**
   * Starts a client transaction for `request` (its top Via must carry a branch; ACK of a 2xx is sent with
   * {@link sendStateless} instead). Throws `TOO_LARGE` when the table is full, `CLOSED` after {@link close}.
   */
  sendRequest(request: SipRequest, target: SipAddress, user: ClientTransactionUser): ClientTransaction {
    if (this.#closed) throw new SessionError('CLOSED', 'SIP transaction layer is closed');
    if (this.size >= this.#maxTransactions) {
      throw new SessionError('TOO_LARGE', `more than ${this.#maxTransactions} SIP transactions`);
    }
    const via = parseVia(request.headers.get('via') ?? '');
    const branch = via === undefined ? undefined : branchOf(via);
    if (branch === undefined || request.method === 'ACK') {
      throw new SessionError(
        'INVALID_ARGUMENT',
        'a client transaction needs a non-ACK request with a Via branch',
      );
    }
    const key = `${branch}|${request.method}`;
    const sent = this.#viaForTransport(request, target);
    const transaction = new ClientTransaction(key, sent, target, this.#context, user);
    this.#clients.set(key, transaction);
    transaction.transition({ type: 'start' });
    return transaction;
  }

  /** Sends a message outside any transaction (the ACK of a 2xx, a 2xx retransmission). */
  sendStateless(message: SipRequest | SipResponse, target: SipAddress): void {
    const sent = message.kind === 'request' ? this.#viaForTransport(message, target) : message;
    const error = this.#send(serializeSip(sent), target);
    if (error !== undefined) throw error;
  }

  /**
   * RFC 3261 §18.1.1: the transport fills in the transport and sent-by of the top Via. A request this layer's Via
   * tops (any caller's `newVia()`, UDP at {@link local}) that goes out over TCP or TLS gets that protocol and the
   * address of that listener, so the responses come back to it; one that goes to the other IP family than
   * {@link local}'s (a dual-stack transport) gets this side's address of that family. A Via of someone else is left
   * alone.
   */
  #viaForTransport(request: SipRequest, target: SipAddress): SipRequest {
    const transport = target.transport ?? 'UDP';
    const local = this.#transport.local;
    const family = familyOf(target.address);
    if (transport === 'UDP' && (this.#transport.localFor === undefined || family === familyOf(local.address)))
      return request;
    const via = parseVia(request.headers.get('via') ?? '');
    if (via?.protocol !== 'SIP/2.0/UDP' || via.host !== local.address || via.port !== local.port)
      return request;
    const sentBy = this.#transport.localFor?.(transport, family) ?? local;
    if (transport === 'UDP' && sentBy.address === local.address) return request;
    const headers = request.headers
      .clone()
      .setFirst(
        'Via',
        formatVia({ ...via, protocol: `SIP/2.0/${transport}`, host: sentBy.address, port: sentBy.port }),
      );
    return { ...request, headers };
  }

  /** Feeds one datagram (or one message framed from a stream) from the transport: filters, then SIP. Never throws. */
  receive(datagram: Uint8Array, source: SipAddress): void {
    if (this.#closed) return;
    if (this.#filters.length > 0 && this.#divert(datagram, source)) {
      this.stats.diverted++;
      return;
    }
    this.stats.received++;
    const decoded = decodeSip(datagram, this.#options);
    if (!decoded.ok) {
      if (decoded.answerable !== undefined && decoded.answerable.method !== 'ACK') {
        this.stats.badRequestsAnswered++;
        this.#answerStateless(decoded.answerable, source, decoded.status ?? 400, decoded.error.message);
      } else {
        this.stats.malformedDropped++;
      }
      return;
    }
    const message = decoded.message;
    if (message.kind === 'response') this.#receiveResponse(message, source);
    else this.#receiveRequest(message, source);
  }

  /** Whether a datagram filter consumed the datagram. */
  #divert(data: Uint8Array, source: SipAddress): boolean {
    const transport = this.#transport;
    const datagram: InboundDatagram = { data, source, reply: (answer) => transport.send(answer, source) };
    for (const filter of this.#filters) {
      try {
        if (filter(datagram)) return true;
      } catch {
        this.stats.handlerErrors++;
      }
    }
    return false;
  }

  #receiveResponse(response: SipResponse, source: SipAddress): void {
    const via = parseVia(response.headers.get('via') ?? '');
    const branch = via === undefined ? undefined : branchOf(via);
    const method = parseCSeq(response.headers.get('cseq'))?.method;
    const transaction = branch === undefined ? undefined : this.#clients.get(`${branch}|${method ?? ''}`);
    if (transaction !== undefined) {
      transaction.transition({ type: 'response', response });
      return;
    }
    this.stats.strayResponses++;
    this.#guard(() => this.#options.onStrayResponse?.(response, source));
  }

  #receiveRequest(received: SipRequest, source: SipAddress): void {
    const topVia = parseVia(received.headers.get('via') ?? '');
    const branch = topVia === undefined ? undefined : branchOf(topVia);
    if (topVia === undefined || branch === undefined) {
      // RFC 2543 peers without the magic cookie are not supported: answered, never kept.
      if (received.method !== 'ACK')
        this.#answerStateless(received, source, 400, 'Via branch without z9hG4bK');
      else this.stats.malformedDropped++;
      return;
    }
    const stamped = stampReceived(topVia, source);
    const headers = received.headers.clone().setFirst('Via', formatVia(stamped));
    const request: SipRequest = { ...received, headers };
    const sentBy = `${topVia.host}:${topVia.port ?? 5060}`;
    const method = request.method === 'ACK' ? 'INVITE' : request.method;
    const key = `${branch}|${sentBy}|${method}`;
    const existing = this.#servers.get(key);
    // RFC 6026: an ACK matching an INVITE transaction in Accepted (a peer that reused the INVITE's branch for
    // the ACK of our 2xx) is the transaction user's, as any other ACK of a 2xx.
    if (existing !== undefined && !(request.method === 'ACK' && existing.state === 'accepted')) {
      existing.transition({ type: 'request', request });
      return;
    }
    if (request.method === 'ACK') {
      this.#guard(() => this.#options.onRequest(request, undefined, source));
      return;
    }
    if (this.size >= this.#maxTransactions) {
      this.#refuse(request, source, 'table', DEFAULT_RETRY_AFTER_S);
      return;
    }
    const admission = this.#admission.admit(request, source);
    if (!admission.admitted) {
      this.#refuse(request, source, admission.reason, admission.retryAfterS);
      return;
    }
    const errorsBefore = this.stats.handlerErrors;
    const transaction = new ServerTransaction(key, request, replyTarget(stamped, source), this.#context);
    this.#servers.set(key, transaction);
    this.#tickets.set(key, admission.ticket);
    if (request.method === 'INVITE') transaction.respond(createResponse(request, 100));
    this.#guard(() => this.#options.onRequest(request, transaction, source));
    // A transaction user that threw: answer 500 for it (ignored if it had already answered finally).
    if (this.stats.handlerErrors > errorsBefore) transaction.respond(createResponse(request, 500));
  }

  /** Runs a transaction user's callback: whatever it throws is counted, never passed to the socket. */
  #guard(callback: () => void): void {
    try {
      callback();
    } catch {
      this.stats.handlerErrors++;
    }
  }

  /** 503 with Retry-After, counted by reason: no transaction is kept for it. */
  #refuse(request: SipRequest, source: SipAddress, reason: OverloadReason, retryAfterS: number): void {
    this.stats.overloadRejected++;
    this.stats.overloadByReason[reason]++;
    this.#answerStateless(request, source, 503, undefined, retryAfterS);
  }

  #release(key: string): void {
    const ticket = this.#tickets.get(key);
    if (ticket === undefined) return;
    this.#tickets.delete(key);
    ticket.release();
  }

  #answerStateless(
    request: SipRequest,
    source: SipAddress,
    status: number,
    reason?: string,
    retryAfterS?: number,
  ): void {
    const via = parseVia(request.headers.get('via') ?? '');
    const stamped = via === undefined ? undefined : stampReceived(via, source);
    const target = stamped === undefined ? source : replyTarget(stamped, source);
    try {
      const response = createResponse(request, status, {
        ...(reason === undefined ? {} : { reason: reasonPhrase(status, reason) }),
        // A 503 says when to come back (RFC 3261 §21.5.4): clients that honour it stop adding to the load.
        ...(retryAfterS === undefined ? {} : { headers: [['Retry-After', String(retryAfterS)]] }),
      });
      if (stamped !== undefined) response.headers.setFirst('Via', formatVia(stamped));
      this.#send(serializeSip(response), target);
    } catch {
      // A request whose copied headers cannot be re-sent (it parsed, so this is rare) is only counted.
      this.stats.malformedDropped++;
    }
  }

  #send(datagram: Uint8Array, to: SipAddress): SessionError | undefined {
    try {
      this.#transport.send(datagram, to);
      this.stats.sent++;
      return undefined;
    } catch (error) {
      this.stats.sendErrors++;
      return SessionError.is(error) ? error : new SessionError('TRANSPORT', 'send failed', { cause: error });
    }
  }

  /** Abandons every transaction and cancels every timer; later datagrams are ignored. */
  close(): void {
    this.#closed = true;
    for (const transaction of [...this.#clients.values(), ...this.#servers.values()]) transaction.abandon();
    this.#clients.clear();
    this.#servers.clear();
    for (const ticket of this.#tickets.values()) ticket.release();
    this.#tickets.clear();
  }
}

/**
 * Where the responses to a request go: over a stream, back on the connection it came on (RFC 3261 §18.2.2; the
 * transport reopens one to that address if it closed); over UDP, the top Via's received/rport (RFC 3581).
 */
function replyTarget(via: Parameters<typeof responseTarget>[0], source: SipAddress): SipAddress {
  return isStreamTransport(source) ? source : responseTarget(via);
}

/** Retry-After of the 503 for a full table, seconds (the policy's refusals carry their own). */
const DEFAULT_RETRY_AFTER_S = 5;

/** A reason phrase from an error message: one line, printable, bounded. */
function reasonPhrase(status: number, text: string): string {
  return `${REASON_PHRASES[status] ?? 'Bad Request'} - ${text.replace(/[^\x20-\x7e]/g, '?').slice(0, 100)}`;
}
