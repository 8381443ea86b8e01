import { DhtError, normaliseAor, type LocationService } from '@xpp/dht';
import {
  SessionError,
  type SipTransactionLayer,
  createResponse,
  parseNameAddr,
  parseSipUri,
  parseVia,
  responseTarget,
  statelessToTag,
  type ServerTransaction,
  type SipRequest,
  type SipResponse,
  type TransportAddress,
} from '@xpp/session-sdp';
import type { FlowTable } from '../registrar/flows.js';
import { localTag } from '../sip/tags.js';
import {
  cancelFor,
  forwardedRequest,
  maxForwardsOf,
  recordRouteValue,
  routesTo,
  transactionKeyOf,
  uriTarget,
  withoutFirst,
} from './forwarding.js';

/** Default bound on INVITEs being forwarded (waiting for a final response) at once; more get 503. */
export const DEFAULT_MAX_PENDING_INVITES = 512;

/** Wait before the one retry of an overlay lookup that failed, ms. */
export const OVERLAY_RETRY_MS = 250;
/** Retry-After of the proxy's 503 answers, seconds. */
export const RETRY_AFTER_S = 5;

/** Why the proxy answered a request itself instead of forwarding it. */
export type ProxyRejection =
  | 'too-many-hops'
  | 'bad-request'
  | 'unknown-user'
  | 'no-binding'
  | 'no-flow-peer'
  | 'not-found'
  | 'overloaded'
  | 'overlay-error'
  | 'unmatched-cancel'
  | 'timeout'
  | 'transport-error';

export interface SipProxyOptions {
  readonly domain: string;
  readonly layer: SipTransactionLayer;
  readonly location: LocationService;
  readonly flows: FlowTable;
  /** This peer's id, hex: bindings whose flow peer it is are forwarded over the local flow. */
  readonly peerIdHex: string;
  readonly maxPendingInvites?: number;
  /** A request for an AOR got its final status (forwarded back or answered here). */
  readonly onCall?: (event: { method: string; aor: string; status: number; to?: TransportAddress }) => void;
}

interface PendingInvite {
  readonly forwarded: SipRequest;
  readonly target: TransportAddress;
}

interface Route {
  readonly uri: string;
  readonly target: TransportAddress;
  /** The flow peer the target was read from (its cached PEER record is dropped when it does not answer). */
  readonly flowPeer?: string;
}

/**
 * A transaction-stateful RFC 3261 §16 proxy for the overlay's domain (docs/decisions/node-peer-proxy.md): requests
 * for `sip:user@domain` are looked up in the overlay and sent to the peer holding the callee's flow, which sends
 * them over that flow; it Record-Routes INVITEs so in-dialog requests take the same peers, and relays CANCEL.
 */
export class SipProxy {
  readonly stats = { proxied: 0, rejected: {} as Record<string, number> };
  readonly #o: SipProxyOptions;
  readonly #maxPending: number;
  /** Upstream INVITE (top Via branch and sent-by) → what we forwarded, for CANCEL (§16.10). */
  readonly #pending = new Map<string, PendingInvite>();

  constructor(options: SipProxyOptions) {
    this.#o = options;
    this.#maxPending = options.maxPendingInvites ?? DEFAULT_MAX_PENDING_INVITES;
  }

  get pendingInvites(): number {
    return this.#pending.size;
  }

  get #self(): TransportAddress {
    return this.#o.layer.local;
  }

  /** Takes a request that is not a REGISTER and not the overlay's; every one is answered or forwarded. */
  handle(request: SipRequest, transaction: ServerTransaction | undefined): void {
    if (request.method === 'CANCEL') {
      if (transaction !== undefined) this.#cancel(request, transaction);
      return;
    }
    if (maxForwardsOf(request) <= 0) {
      this.#reject(request, transaction, 483, 'too-many-hops');
      return;
    }
    let routed = false;
    let current = request;
    const topRoute = request.headers.get('route');
    if (topRoute !== undefined && routesTo(topRoute, this.#self)) {
      current = { ...request, headers: withoutFirst(request.headers, 'route') };
      routed = true;
    }
    const nextRoute = current.headers.get('route');
    if (nextRoute !== undefined) {
      const uri = parseNameAddr(nextRoute)?.uri;
      const target = uri === undefined ? undefined : uriTarget(uri);
      if (target === undefined) this.#reject(current, transaction, 404, 'not-found');
      else this.#forward(current, transaction, { uri: current.uri, target });
      return;
    }
    const flow = this.#o.flows.byContact(current.uri);
    if (flow !== undefined) {
      this.#forward(current, transaction, { uri: current.uri, target: flow.source });
      return;
    }
    const target = parseSipUri(current.uri);
    if (target !== undefined && target.user === undefined && !routed) {
      // The server itself (`OPTIONS sip:localhost`, a keepalive some clients send): only OPTIONS is served.
      this.#answerServer(request, transaction);
      return;
    }
    if (target?.host === this.#o.domain.toLowerCase() && current.method !== 'ACK') {
      void this.#toAor(current, transaction);
      return;
    }
    const direct = routed ? uriTarget(current.uri) : undefined;
    if (direct !== undefined) {
      this.#forward(current, transaction, { uri: current.uri, target: direct });
      return;
    }
    this.#answerServer(request, transaction);
  }

  /** A request for no user: OPTIONS gets 200 with what we allow, anything else 404. */
  #answerServer(request: SipRequest, transaction: ServerTransaction | undefined): void {
    // Stateless (RFC 3261 §8.2.7): the answer depends on the request alone, so it holds no slot for Timer J and a
    // flood of OPTIONS fills no table.
    if (request.method === 'OPTIONS')
      transaction?.respondStateless(
        createResponse(request, 200, { toTag: statelessToTag(request), headers: [['Allow', ALLOW]] }),
      );
    else this.#reject(request, transaction, 404, 'not-found');
  }

  /**
   * A response that matched no client transaction: a retransmitted 2xx of an INVITE we forwarded (its client
   * transaction ended at the first 2xx, §17.1.1.2) goes on statelessly to the next Via (§16.7 step 10, §16.11).
   * Returns false for anything else (the overlay's own responses carry only our Via).
   */
  onStrayResponse(response: SipResponse): boolean {
    const vias = response.headers.getAll('via');
    const top = parseVia(vias[0] ?? '');
    const next = parseVia(vias[1] ?? '');
    const self = this.#self;
    if (
      top === undefined ||
      next === undefined ||
      top.host !== self.address ||
      (top.port ?? 5060) !== self.port
    )
      return false;
    try {
      this.#o.layer.sendStateless(
        { ...response, headers: withoutFirst(response.headers, 'via') },
        responseTarget(next),
      );
    } catch {
      // Counted by the layer (sendErrors); the UAS retransmits its 2xx.
    }
    return true;
  }

  async #toAor(request: SipRequest, transaction: ServerTransaction | undefined): Promise<void> {
    let aor: string;
    try {
      aor = normaliseAor(request.uri);
    } catch {
      this.#reject(request, transaction, 400, 'bad-request');
      return;
    }
    let route: Route | ProxyRejection;
    try {
      route = await this.#locate(aor);
    } catch {
      // Routes are briefly missing while a zone changes hands (a LEAVE, a takeover): one more try, a moment later.
      await new Promise<void>((resolve) => this.#o.layer.clock.setTimer(resolve, OVERLAY_RETRY_MS));
      try {
        route = await this.#locate(aor);
      } catch (error) {
        route = DhtError.is(error) && error.status === 503 ? 'overloaded' : 'overlay-error';
      }
    }
    if (typeof route === 'string') {
      const status = REJECTION_STATUS[route];
      this.#reject(request, transaction, status, route);
      this.#o.onCall?.({ method: request.method, aor, status });
      return;
    }
    this.#forward(request, transaction, route, aor);
  }

  /** Where a request for `aor` goes: the binding refreshed last, over its flow here or through its flow peer. */
  async #locate(aor: string): Promise<Route | ProxyRejection> {
    const bindings = await this.#o.location.lookup(aor);
    if (bindings.length === 0)
      return (await this.#o.location.credential(aor)) === undefined ? 'unknown-user' : 'no-binding';
    // No forking: the binding with the most time left, the latest stored on a tie (docs/decisions/node-peer-proxy.md).
    const best = bindings.reduce((a, b) => (b.expires >= a.expires ? b : a));
    const flowPeer = Buffer.from(best.flowPeer).toString('hex');
    if (flowPeer === this.#o.peerIdHex) {
      const target = this.#o.flows.get(aor, best)?.source ?? uriTarget(best.contact);
      return target === undefined ? 'no-binding' : { uri: best.contact, target };
    }
    const peer = await this.#o.location.peer(flowPeer);
    const target = peer === undefined ? undefined : uriTarget(peer.contact.uri);
    return target === undefined ? 'no-flow-peer' : { uri: best.contact, target, flowPeer };
  }

  #forward(
    request: SipRequest,
    transaction: ServerTransaction | undefined,
    route: Route,
    aor?: string,
  ): void {
    const layer = this.#o.layer;
    const forwarded = forwardedRequest(request, {
      uri: route.uri,
      via: layer.newVia(),
      ...(request.method === 'INVITE' ? { recordRoute: recordRouteValue(this.#self) } : {}),
    });
    if (transaction === undefined) {
      // The ACK of a 2xx is end to end: no transaction, sent on as it is (§16.11).
      try {
        layer.sendStateless(forwarded, route.target);
        this.stats.proxied++;
      } catch {
        this.#count('transport-error');
      }
      return;
    }
    const key = request.method === 'INVITE' ? transactionKeyOf(request) : undefined;
    if (key !== undefined && this.#pending.size >= this.#maxPending) {
      this.#reject(request, transaction, 503, 'overloaded');
      return;
    }
    const done = (status: number) => {
      if (key !== undefined) this.#pending.delete(key);
      if (aor !== undefined) this.#o.onCall?.({ method: request.method, aor, status, to: route.target });
    };
    try {
      layer.sendRequest(forwarded, route.target, {
        response: (response) => {
          // §16.7: our own 100 went already; every other response goes back without our Via.
          if (response.status === 100) return;
          transaction.respond({ ...response, headers: withoutFirst(response.headers, 'via') });
          if (response.status >= 200) done(response.status);
        },
        timeout: () => {
          if (route.flowPeer !== undefined) this.#o.location.forgetPeer(route.flowPeer);
          this.#reject(request, transaction, 408, 'timeout');
          done(408);
        },
        transportError: () => {
          this.#reject(request, transaction, 503, 'transport-error');
          done(503);
        },
      });
    } catch (error) {
      this.#reject(
        request,
        transaction,
        503,
        SessionError.is(error, 'TOO_LARGE') ? 'overloaded' : 'transport-error',
      );
      return;
    }
    if (key !== undefined) this.#pending.set(key, { forwarded, target: route.target });
    this.stats.proxied++;
  }

  /** §16.10: answer the CANCEL 200 and cancel the INVITE we forwarded (its final response comes back as usual). */
  #cancel(request: SipRequest, transaction: ServerTransaction): void {
    const key = transactionKeyOf(request);
    const pending = key === undefined ? undefined : this.#pending.get(key);
    if (pending === undefined) {
      this.#reject(request, transaction, 481, 'unmatched-cancel');
      return;
    }
    transaction.respond(createResponse(request, 200, { toTag: localTag() }));
    try {
      this.#o.layer.sendRequest(cancelFor(pending.forwarded), pending.target, {
        response: () => undefined,
        timeout: () => undefined,
        transportError: () => undefined,
      });
      this.stats.proxied++;
    } catch {
      this.#count('overloaded');
    }
  }

  #reject(
    request: SipRequest,
    transaction: ServerTransaction | undefined,
    status: number,
    why: ProxyRejection,
  ): void {
    this.#count(why);
    // A 503 is temporary here (load, or a zone changing hands): say when to try again (RFC 3261 §21.5.4).
    const headers: [string, string][] = status === 503 ? [['Retry-After', String(RETRY_AFTER_S)]] : [];
    transaction?.respond(createResponse(request, status, { toTag: localTag(), headers }));
  }

  #count(why: ProxyRejection): void {
    this.stats.rejected[why] = (this.stats.rejected[why] ?? 0) + 1;
  }

  /** Forgets pending INVITEs (their transactions were abandoned with the layer). */
  clear(): void {
    this.#pending.clear();
  }
}

const ALLOW = 'INVITE, ACK, BYE, CANCEL, OPTIONS, REGISTER';

const REJECTION_STATUS: Readonly<Record<ProxyRejection, number>> = {
  'too-many-hops': 483,
  'bad-request': 400,
  'unknown-user': 404,
  'no-binding': 480,
  'no-flow-peer': 480,
  'not-found': 404,
  overloaded: 503,
  'overlay-error': 503,
  'unmatched-cancel': 481,
  timeout: 408,
  'transport-error': 503,
};
