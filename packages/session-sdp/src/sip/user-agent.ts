import { SessionError } from '../errors.js';
import { abortable } from '../internal/abortable.js';
import type { TransportAddress } from '../sdp/description.js';
import { bodyBytes, type SipBody } from './body.js';
import { SipCall } from './call.js';
import { checkCallId } from './call-id.js';
import { createResponse, parseCSeq, type SipCodecLimits } from './codec.js';
import { SipDialog, dialogId, randomToken, uriAddress } from './dialog.js';
import { SipHeaders } from './headers.js';
import type { SipRequest, SipResponse } from './message.js';
import { IncomingInvite } from './incoming-invite.js';
import { tagOf } from './name-addr.js';
import type { ServerTransaction } from './server-transaction.js';
import type { SipTimerValues } from './timer-set.js';
import { statelessToTag } from './stateless.js';
import { SipTransactionLayer } from './transaction-layer.js';
import type { SipTransport } from './transport.js';
import { UdpSipTransport, type UdpSipTransportOptions } from './udp-transport.js';
import { parseVia } from './via.js';
import { formatHost } from './uri.js';
import type { Clock } from '@xpp/reliability';

/** Default bound on calls (established plus being answered) of one user agent. */
export const DEFAULT_MAX_CALLS = 256;
/** Default time the application has to accept or reject an INVITE before it is answered 480 (64×T1). */
export const DEFAULT_ANSWER_TIMEOUT_MS = 32_000;

export interface SipUserAgentOptions extends SipCodecLimits {
  readonly transport: SipTransport;
  readonly clock?: Clock;
  readonly timers?: Partial<SipTimerValues>;
  /** Bound on live transactions; see `DEFAULT_MAX_TRANSACTIONS`. */
  readonly maxTransactions?: number;
  /** Default {@link DEFAULT_MAX_CALLS}; more INVITEs are answered 486. */
  readonly maxCalls?: number;
  /** User part of our From and Contact URIs; default `xpp`. */
  readonly user?: string;
  /** Default {@link DEFAULT_ANSWER_TIMEOUT_MS}. */
  readonly answerTimeoutMs?: number;
  /** Called for each new INVITE; without it INVITEs are answered 480. */
  readonly onInvite?: (invite: IncomingInvite) => void;
  /**
   * Sees every request first (an ACK of a 2xx has no transaction) and returns `true` when it took it, so a
   * registrar or proxy can share the user agent's socket; anything it leaves is handled as usual.
   */
  readonly onRequest?: SipRequestHook;
  /** Sees responses that match no client transaction (a stateless proxy's forwarded responses) first. */
  readonly onStrayResponse?: (response: SipResponse, source: TransportAddress) => boolean;
}

/** See {@link SipUserAgentOptions.onRequest}. */
export type SipRequestHook = (
  request: SipRequest,
  transaction: ServerTransaction | undefined,
  source: TransportAddress,
) => boolean;

export interface InviteOptions {
  readonly signal?: AbortSignal;
  /** Send to this address instead of the Request-URI's host (an outbound proxy, or a name we cannot resolve). */
  readonly nextHop?: TransportAddress;
  /**
   * The INVITE's Call-ID, when the offer must depend on it (an `a=xpp-auth` signs it, xpp-pcan §5.5): take it
   * from {@link SipUserAgent.newCallId}. Default a fresh one. Must be RFC 3261 `callid` syntax, at most
   * `MAX_CALL_ID_LENGTH` characters, or the INVITE is refused with `INVALID_ARGUMENT`.
   */
  readonly callId?: string;
}

/**
 * A minimal RFC 3261 user agent on a {@link SipTransactionLayer}: sends INVITE and gets a {@link SipCall},
 * answers INVITEs through {@link IncomingInvite}, ACKs, and ends calls with BYE (both directions).
 * Also answers OPTIONS, CANCEL of a pending INVITE, and 481/501 as RFC 3261 asks.
 */
export class SipUserAgent {
  readonly layer: SipTransactionLayer;
  readonly #options: SipUserAgentOptions;
  readonly #calls = new Map<string, SipCall>();
  readonly #pending = new Map<string, IncomingInvite>();
  readonly #ownedTransport: UdpSipTransport | undefined;
  #closed = false;

  constructor(options: SipUserAgentOptions, ownedTransport?: UdpSipTransport) {
    this.#options = options;
    this.#ownedTransport = ownedTransport;
    this.layer = new SipTransactionLayer({
      ...options,
      onRequest: (request, transaction, source) => this.#onRequest(request, transaction, source),
      onStrayResponse: (response, source) => {
        if (this.#options.onStrayResponse?.(response, source) !== true) this.#onStrayResponse(response);
      },
    });
  }

  /** Binds a UDP socket and runs a user agent on it; {@link close} closes the socket too. */
  static async listen(
    options: Omit<SipUserAgentOptions, 'transport'> & UdpSipTransportOptions = {},
  ): Promise<SipUserAgent> {
    const transport = await UdpSipTransport.open(options);
    return new SipUserAgent({ ...options, transport }, transport);
  }

  #advertised: TransportAddress | undefined;

  get local(): TransportAddress {
    return this.layer.local;
  }

  /**
   * Our Contact URI: at the socket's address, or at the one {@link advertise} gave (where a NAT shows us).
   */
  get contactUri(): string {
    const at = this.#advertised ?? this.local;
    return `sip:${this.#options.user ?? 'xpp'}@${formatHost(at.address)}:${at.port}`;
  }

  /**
   * Puts `address` in our Contact from now on instead of the socket's — the server-reflexive address a NAT shows
   * us at (a response's `received`/`rport`, {@link SipCall.reflexive}), so that the other side's ACK and BYE reach
   * us through the NAT it opened; undefined goes back to the socket's.
   */
  advertise(address: TransportAddress | undefined): void {
    this.#advertised = address === undefined ? undefined : { address: address.address, port: address.port };
  }

  /** A fresh Call-ID for this user agent, as {@link invite} makes one (for {@link InviteOptions.callId}). */
  newCallId(): string {
    return `${randomToken()}@${formatHost(this.local.address)}`;
  }

  /** Established calls. */
  get calls(): number {
    return this.#calls.size;
  }

  /**
   * Sends INVITE with `offer` to `uri` and resolves with the call once a 2xx arrived and was ACKed. Rejects with
   * `SIP_REJECTED` (non-2xx), `SIP_TIMEOUT` (Timer B), `TRANSPORT`, `ABORTED`, `TOO_LARGE` (call bound).
   * A 2xx arriving after an abort is ACKed and ended with BYE.
   */
  invite(uri: string, offer: SipBody, options: InviteOptions = {}): Promise<SipCall> {
    if (this.#closed) return Promise.reject(new SessionError('CLOSED', 'user agent is closed'));
    if (this.#calls.size + this.#pending.size >= (this.#options.maxCalls ?? DEFAULT_MAX_CALLS)) {
      return Promise.reject(new SessionError('TOO_LARGE', 'call limit reached'));
    }
    let target: TransportAddress;
    const callId = options.callId ?? this.newCallId();
    try {
      target = options.nextHop ?? uriAddress(uri);
      checkCallId(callId);
    } catch (error) {
      return Promise.reject(error);
    }
    const request = this.#newInvite(uri, offer, callId);
    let abandoned = false;
    return abortable<SipCall>(
      options.signal,
      (resolve, reject) => {
        this.layer.sendRequest(request, target, {
          response: (response) => {
            if (response.status < 200) return;
            if (response.status >= 300) {
              reject(
                new SessionError('SIP_REJECTED', `INVITE answered ${response.status}`, {
                  status: response.status,
                }),
              );
              return;
            }
            try {
              const call = this.#establishUac(request, response);
              if (abandoned) void call.bye().catch(() => undefined);
              else resolve(call);
            } catch (error) {
              reject(error);
            }
          },
          timeout: () => reject(new SessionError('SIP_TIMEOUT', 'INVITE got no final response (Timer B)')),
          transportError: (error) => reject(error),
        });
      },
      () => {
        abandoned = true;
      },
    );
  }

  #newInvite(uri: string, offer: SipBody, callId: string): SipRequest {
    const headers = new SipHeaders()
      .append('Via', this.layer.newVia())
      .append('Max-Forwards', '70')
      .append('From', `<${this.contactUri}>;tag=${randomToken()}`)
      .append('To', `<${uri}>`)
      .append('Call-ID', callId)
      .append('CSeq', '1 INVITE')
      .append('Contact', `<${this.contactUri}>`)
      .append('Content-Type', offer.contentType);
    return { kind: 'request', method: 'INVITE', uri, headers, body: bodyBytes(offer.body) };
  }

  #establishUac(invite: SipRequest, response: SipResponse): SipCall {
    const dialog = SipDialog.fromUac(invite, response);
    const ack = dialog.createRequest('ACK', this.layer.newVia(), {
      ackSeq: parseCSeq(invite.headers.get('cseq'))?.seq ?? 1,
    });
    const existing = this.#calls.get(dialog.id);
    if (existing !== undefined) return existing;
    this.layer.sendStateless(ack, dialog.nextHop());
    const via = parseVia(response.headers.get('via') ?? '');
    const received = via?.params.get('received');
    const rport = Number(via?.params.get('rport'));
    const reflexive =
      via === undefined || (typeof received !== 'string' && !(rport > 0))
        ? undefined
        : {
            address: typeof received === 'string' ? received : via.host,
            port: rport > 0 ? rport : (via.port ?? 5060),
          };
    const call = new SipCall({
      role: 'uac',
      dialog,
      remote: response,
      ack,
      owner: this.#callOwner,
      ...(reflexive === undefined ? {} : { reflexive }),
    });
    this.#calls.set(dialog.id, call);
    return call;
  }

  readonly #callOwner = {
    sendBye: (call: SipCall, signal: AbortSignal | undefined): Promise<SipResponse> => {
      const bye = call.dialog.createRequest('BYE', this.layer.newVia());
      return abortable<SipResponse>(signal, (resolve, reject) => {
        try {
          this.layer.sendRequest(bye, call.dialog.nextHop(), {
            response: (response) => {
              if (response.status >= 200) resolve(response);
            },
            timeout: () => reject(new SessionError('SIP_TIMEOUT', 'BYE got no final response (Timer F)')),
            transportError: reject,
          });
        } catch (error) {
          reject(error);
        }
      });
    },
    forget: (call: SipCall) => {
      this.#calls.delete(call.dialog.id);
    },
  };

  #onStrayResponse(response: SipResponse): void {
    // A retransmitted 2xx of an INVITE whose transaction ended: ACK it again (§13.2.2.4).
    if (
      response.status < 200 ||
      response.status >= 300 ||
      parseCSeq(response.headers.get('cseq'))?.method !== 'INVITE'
    )
      return;
    const id = dialogId(
      response.headers.get('call-id') ?? '',
      tagOf(response.headers.get('from')) ?? '',
      tagOf(response.headers.get('to')) ?? '',
    );
    const call = this.#calls.get(id);
    if (call?.ack === undefined) return;
    try {
      this.layer.sendStateless(call.ack, call.dialog.nextHop());
    } catch {
      // Counted by the layer (sendErrors); the next 2xx retransmission tries again.
    }
  }

  #onRequest(
    request: SipRequest,
    transaction: ServerTransaction | undefined,
    source: TransportAddress,
  ): void {
    if (this.#options.onRequest?.(request, transaction, source) === true) return;
    const h = request.headers;
    const id = dialogId(h.get('call-id') ?? '', tagOf(h.get('to')) ?? '', tagOf(h.get('from')) ?? '');
    if (transaction === undefined) {
      this.#pending.get(id)?.acknowledged();
      return;
    }
    const respond = (status: number, headers: Iterable<readonly [string, string]> = []) =>
      transaction.respond(createResponse(request, status, { toTag: randomToken(), headers }));
    switch (request.method) {
      case 'INVITE':
        if (tagOf(h.get('to')) !== undefined) return respond(488); // re-INVITE: no renegotiation
        if (this.#options.onInvite === undefined || this.#closed) return respond(480);
        if (this.#calls.size + this.#pending.size >= (this.#options.maxCalls ?? DEFAULT_MAX_CALLS))
          return respond(486);
        return this.#offerInvite(request, transaction, source);
      case 'BYE': {
        const call = this.#calls.get(id);
        if (call === undefined) return respond(481);
        if (!call.dialog.acceptRemoteSeq(request)) return respond(500);
        respond(200);
        call.markEnded('remote-bye');
        return;
      }
      case 'CANCEL': {
        const invite = [...this.#pending.values()].find((p) => p.cancelledBy(request));
        return respond(invite === undefined ? 481 : 200);
      }
      // Answers that depend on the request alone hold no slot for Timer J (a flood of them fills no table).
      case 'OPTIONS':
        return this.#respondStateless(request, transaction, 200);
      default:
        return this.#respondStateless(request, transaction, 501);
    }
  }

  #respondStateless(request: SipRequest, transaction: ServerTransaction, status: number): void {
    transaction.respondStateless(
      createResponse(request, status, {
        toTag: statelessToTag(request),
        headers: [['Allow', 'INVITE, ACK, BYE, CANCEL, OPTIONS']],
      }),
    );
  }

  #offerInvite(request: SipRequest, transaction: ServerTransaction, source: TransportAddress): void {
    const invite = new IncomingInvite(request, transaction, source, {
      clock: this.layer.clock,
      timers: this.layer.timers,
      contact: `<${this.contactUri}>`,
      answerTimeoutMs: this.#options.answerTimeoutMs ?? DEFAULT_ANSWER_TIMEOUT_MS,
      register: (pending) => this.#pending.set(pending.dialogId, pending),
      unregister: (pending) => this.#pending.delete(pending.dialogId),
      establish: (dialog) => {
        const call = new SipCall({ role: 'uas', dialog, remote: request, owner: this.#callOwner });
        this.#calls.set(dialog.id, call);
        return call;
      },
      sendBye: (call) => void call.bye().catch(() => undefined),
      resend: (response, target) => {
        try {
          this.layer.sendStateless(response, target);
        } catch {
          // Counted by the layer; the ACK timeout ends the attempt.
        }
      },
    });
    try {
      this.#options.onInvite?.(invite);
    } catch {
      invite.reject(500);
    }
  }

  /** Ends every call (without BYE), stops every transaction and timer, and closes an owned socket. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const pending of [...this.#pending.values()]) pending.reject(480);
    for (const call of [...this.#calls.values()]) call.markEnded('closed');
    this.layer.close();
    await this.#ownedTransport?.close();
  }
}
