import { bindingSubkey, DhtError, type Binding, type LocationService } from '@xpp/dht';
import { bindingRoute, forkTargets, freshest, type ForkTarget } from './binding-route.js';
import {
  type SipTransactionLayer,
  parseNameAddr,
  type ServerTransaction,
  type SipRequest,
  type SipResponse,
  type TransportAddress,
} from '@xpp/session-sdp';
import type { Flow, FlowTable } from '../registrar/flows.js';
import { flowForRequest, retargetedByPeer } from './flow-match.js';
import {
  relayStrayResponse,
  maxForwardsOf,
  transactionKeyOf,
  uriTarget,
  withoutFirst,
} from './forwarding.js';
import { callerToChallenge, type CallAuthenticator } from './call-auth.js';
import { assertionRefusal, IDENTITY_HEADER, type IdentityAsserter } from './identity.js';
import { addresseeOf, fromLocalUser, resolveUri } from './policy.js';
import { RecordRouteSigner } from './record-route.js';
import { OutgoingRequests } from './outgoing.js';
import { ProxyForwarder, type Route } from './forwarder.js';

export { RETRY_AFTER_S } from './forwarder.js';
import {
  FLOW_AUTH_HEADER,
  FLOW_ROUTE_LABEL,
  flowRouteFields,
  heldFlowPeer,
  type FlowRoutes,
} from './flow-route.js';
import { REJECTION_STATUS, type ProxyRejection } from './rejections.js';
import { answerAsServer } from '../sip/server-answers.js';

export type { ProxyRejection } from './rejections.js';

/** Default bound on INVITEs being forwarded (waiting for a final response) at once; more get 503. */
export const DEFAULT_MAX_PENDING_INVITES = 512;

/** Wait before the one retry of an overlay lookup that failed, ms. */
export const OVERLAY_RETRY_MS = 250;

export interface SipProxyOptions {
  readonly domain: string;
  readonly layer: SipTransactionLayer;
  readonly location: LocationService;
  readonly flows: FlowTable;
  /** This peer's id, hex: bindings whose flow peer it is are forwarded over the local flow. */
  readonly peerIdHex: string;
  readonly maxPendingInvites?: number;
  /** Signs our Record-Route and recognises it in Route headers. Default: a random key (dialogs end with the process). */
  readonly recordRoutes?: RecordRouteSigner;
  /** Forward a local user's requests to other domains. Default false: nothing goes to another domain. */
  readonly foreignCalls?: boolean;
  /**
   * Challenges (407) INVITE, MESSAGE and SUBSCRIBE out of any dialog whose From is a user of the domain and that no
   * peer asserted (docs/decisions/node-peer-asserted-identity.md). Without it such calls go through unasserted.
   */
  readonly callAuth?: CallAuthenticator;
  /**
   * Signs the caller's identity for the next peer and checks the assertions of others. Without it (a peer with no
   * certificate) nothing is asserted to other peers and every `XPP-Identity` received is refused.
   */
  readonly asserter?: IdentityAsserter;
  /** Contacts an INVITE to an AOR rings at most (docs/decisions/node-peer-forking.md). Default 8. */
  readonly maxForkBranches?: number;
  /** Timer C (RFC 3261 §16.6 step 11): a branch that rings longer is cancelled, ms. Default 181 000. */
  readonly timerCMs?: number;
  /**
   * SIP through NATs (docs/decisions/node-peer-nat-sip.md): the flows this peer holds for NATed peers, the signer of
   * requests sent to another holder, and — behind a NAT — the holder this peer's own flow route names.
   */
  readonly flowRoutes?: FlowRoutes;
  /** A request for an AOR got its final status (forwarded back or answered here). */
  readonly onCall?: (event: { method: string; aor: string; status: number; to?: TransportAddress }) => void;
}

/**
 * A transaction-stateful RFC 3261 §16 proxy for the overlay's domain (docs/decisions/node-peer-proxy.md): requests
 * for `sip:user@domain` are looked up in the overlay and sent to the peer holding the callee's flow, which sends
 * them over that flow; it Record-Routes INVITEs so in-dialog requests take the same peers, and relays CANCEL.
 */
export class SipProxy {
  readonly #o: SipProxyOptions;
  /** What this proxy puts on the requests it sends on, and how it recognises its own routes. */
  readonly #out: OutgoingRequests;
  /** Sends requests on, answers them, and keeps the INVITEs in flight (forwarder.ts). */
  readonly #fw: ProxyForwarder;

  constructor(options: SipProxyOptions) {
    this.#o = options;
    this.#out = new OutgoingRequests({
      ...options,
      recordRoutes: options.recordRoutes ?? new RecordRouteSigner(),
    });
    this.#fw = new ProxyForwarder({
      layer: options.layer,
      location: options.location,
      out: this.#out,
      maxPendingInvites: options.maxPendingInvites ?? DEFAULT_MAX_PENDING_INVITES,
      maxForkBranches: options.maxForkBranches,
      timerCMs: options.timerCMs,
      bindingRoute: (aor, binding) => this.#bindingRoute(aor, binding),
      failover: (request, transaction, aor, asserted, skip) =>
        void this.#toAor(request, transaction, aor, asserted, skip),
      onCall: options.onCall,
    });
  }

  get stats(): ProxyForwarder['stats'] {
    return this.#fw.stats;
  }

  get pendingInvites(): number {
    return this.#fw.invites.pending;
  }

  get #self(): TransportAddress {
    return this.#o.layer.local;
  }

  /**
   * Whether this node answers `request` itself, as a UAS ({@link answerAsServer}): what {@link handle} would route
   * to the server — no Route, or only a client's outbound-proxy Route naming us without our token, then a
   * Request-URI of the server itself that is none of our flows' contacts.
   */
  isForServer(request: SipRequest): boolean {
    const top = request.headers.get('route');
    let rest = request;
    if (top !== undefined) {
      if (!this.#out.namesUs(top) || this.#out.recordRoutes.recognises(top, request)) return false;
      rest = { ...request, headers: withoutFirst(request.headers, 'route') };
      if (rest.headers.has('route')) return false;
    }
    if (flowForRequest(this.#o.flows, rest) !== undefined || retargetedByPeer(rest)) return false;
    return addresseeOf(rest.uri, this.#o.domain, this.#self).kind === 'server';
  }

  /**
   * Takes a request that is not a REGISTER and not the overlay's; every one is answered or forwarded, and forwarded
   * only as the policy allows (docs/decisions/node-peer-proxy.md, "Policy"): in-dialog requests behind our own
   * Record-Route, requests for users of the domain (through the location service), requests for a flow this peer
   * holds, and — when configured — calls of a local user to another domain. Anything else is 403: no open relay.
   */
  handle(request: SipRequest, transaction: ServerTransaction | undefined, source: TransportAddress): void {
    if (request.method === 'INVITE' && transaction !== undefined) {
      const key = transactionKeyOf(request);
      if (key !== undefined) this.#fw.invites.routing(key, request, transaction);
    }
    // RFC 3325 §5: P-Asserted-Identity is believed from nobody; this peer adds it only for what it verified.
    const assertion = request.headers.has(IDENTITY_HEADER);
    const clean =
      assertion || request.headers.has('p-asserted-identity')
        ? {
            ...request,
            headers: request.headers.clone().delete('p-asserted-identity').delete(IDENTITY_HEADER),
          }
        : request;
    if (!assertion || request.method === 'ACK' || request.method === 'CANCEL') {
      this.#handle(clean, transaction, source, undefined);
      return;
    }
    void this.#checkAssertion(request).then((verdict) => {
      if (typeof verdict === 'string') this.#handle(clean, transaction, source, verdict);
      else this.#fw.reject(request, transaction, verdict.status, verdict.why, verdict.reason);
    });
  }

  /** The AOR a request's `XPP-Identity` asserts, or why it is refused (nothing is delivered on a bad assertion). */
  async #checkAssertion(request: SipRequest): Promise<string | ReturnType<typeof assertionRefusal>> {
    const verdict = (await this.#o.asserter?.verify(request)) ?? { kind: 'invalid' as const };
    if (verdict.kind === 'verified') return verdict.aor;
    return assertionRefusal(verdict.kind === 'absent' ? 'invalid' : verdict.kind);
  }

  #handle(
    request: SipRequest,
    transaction: ServerTransaction | undefined,
    source: TransportAddress,
    asserted: string | undefined,
  ): void {
    if (request.method === 'CANCEL') {
      if (transaction !== undefined) this.#fw.cancel(request, transaction);
      return;
    }
    if (maxForwardsOf(request) <= 0) {
      this.#fw.reject(request, transaction, 483, 'too-many-hops');
      return;
    }
    const topRoute = request.headers.get('route');
    if (topRoute === undefined) {
      this.#route(request, transaction, source, asserted);
      return;
    }
    // A NATed peer's flow route through us: only a certified peer's signed request goes on over the flow.
    const held = heldFlowPeer(topRoute, this.#o.peerIdHex, this.#self);
    if (held !== undefined) {
      void this.#toPeerFlowSigned(request, transaction, held, asserted);
      return;
    }
    // A Route set must start with us (RFC 3261 §16.4): a preloaded one that does not is someone else's path.
    // Our Record-Route names the TLS, WS or WSS listener's port for a client on that transport.
    if (!this.#out.namesUs(topRoute)) {
      this.#fw.reject(request, transaction, 403, 'relay-refused');
      return;
    }
    const rest = { ...request, headers: withoutFirst(request.headers, 'route') };
    if (this.#out.recordRoutes.recognises(topRoute, request)) {
      // RFC 5658: the other half of our double Record-Route follows the first; it is ours too, and goes.
      const second = rest.headers.get('route');
      const own =
        second !== undefined && this.#out.namesUs(second) && this.#out.recordRoutes.recognises(second, rest);
      this.#inDialog(
        own ? { ...rest, headers: withoutFirst(rest.headers, 'route') } : rest,
        transaction,
        asserted,
      );
      return;
    }
    // Our address without our token: a client's outbound-proxy Route (RFC 3261 §8.1.2), followed by nothing but
    // the Request-URI; a Route set that goes on from here was not made by us.
    if (rest.headers.has('route')) this.#fw.reject(request, transaction, 403, 'relay-refused');
    else this.#route(rest, transaction, source, asserted);
  }

  /** A request behind our own Record-Route: to the next Route, else to the remote target (a flow of ours or the URI). */
  #inDialog(request: SipRequest, transaction: ServerTransaction | undefined, asserted?: string): void {
    const nextRoute = request.headers.get('route');
    const next = nextRoute === undefined ? undefined : parseNameAddr(nextRoute)?.uri;
    // The dialog goes on to a NATed peer whose flow we hold (our token above let it in).
    const held = heldFlowPeer(nextRoute, this.#o.peerIdHex, this.#self);
    if (held !== undefined) {
      this.#toPeerFlow(request, transaction, held, asserted);
      return;
    }
    // A contact of one of our flows is delivered only for the dialog it belongs to (flow-match.ts).
    const delivery = next === undefined ? flowForRequest(this.#o.flows, request) : undefined;
    if (delivery !== undefined) {
      this.#deliver(request, transaction, delivery, asserted);
      return;
    }
    const target = next !== undefined ? uriTarget(next) : uriTarget(request.uri);
    if (target === undefined) this.#fw.reject(request, transaction, 404, 'not-found');
    else this.#fw.forward(request, transaction, { uri: request.uri, target }, { asserted });
  }

  /** A request for a NATed peer's flow here: sent on only when a certified peer signed it (XPP-Flow-Auth). */
  async #toPeerFlowSigned(
    request: SipRequest,
    transaction: ServerTransaction | undefined,
    peer: string,
    asserted: string | undefined,
  ): Promise<void> {
    const flows = this.#o.flowRoutes;
    // An ACK's signature is checked but not remembered: the UAC sends it again for each retransmitted 2xx.
    const verdict = await flows?.signer.verify(
      request.headers.get(FLOW_AUTH_HEADER),
      FLOW_ROUTE_LABEL,
      flowRouteFields(request, peer),
      request.method !== 'ACK',
    );
    if (verdict?.kind !== 'verified') this.#fw.reject(request, transaction, 403, 'flow-route-refused');
    else this.#toPeerFlow(request, transaction, peer, asserted);
  }

  /** Over the flow a NATed peer keeps to us (its Route kept: it names that peer), or 430 when it has none. */
  #toPeerFlow(
    request: SipRequest,
    transaction: ServerTransaction | undefined,
    peer: string,
    asserted: string | undefined,
  ): void {
    const flow = this.#o.flowRoutes?.table.get(peer, this.#o.layer.clock.now());
    if (flow === undefined) this.#fw.reject(request, transaction, 430, 'flow-failed');
    else
      this.#fw.forward(
        request,
        transaction,
        { uri: request.uri, target: flow.source, flowPeer: peer },
        { asserted },
      );
  }

  /** Over the client's flow, or 430 when that flow died (RFC 5626 §5.3: the sender may try another flow). */
  #deliver(
    request: SipRequest,
    transaction: ServerTransaction | undefined,
    delivery: { flow: Flow; uri: string },
    asserted: string | undefined,
  ): void {
    if (delivery.flow.failed === true) this.#fw.reject(request, transaction, 430, 'flow-failed');
    else
      this.#fw.forward(
        request,
        transaction,
        { uri: delivery.uri, target: delivery.flow.source },
        { asserted },
      );
  }

  /** A request that no Route of ours brought: by its Request-URI alone. */
  #route(
    request: SipRequest,
    transaction: ServerTransaction | undefined,
    source: TransportAddress,
    asserted: string | undefined,
  ): void {
    // A contact of one of our flows: delivered only for the registration or dialog it belongs to (flow-match.ts).
    const delivery = flowForRequest(this.#o.flows, request);
    if (delivery !== undefined) {
      if (asserted === undefined && this.#mustAuthenticate(request))
        void this.#authenticate(request, transaction, source, (aor) =>
          this.#deliver(request, transaction, delivery, aor),
        );
      else this.#deliver(request, transaction, delivery, asserted);
      return;
    }
    // RFC 5626 §5.3: the flow a peer sent this to is gone (lost with a restart); the sender tries another binding.
    if (retargetedByPeer(request)) {
      this.#fw.reject(request, transaction, 430, 'flow-failed');
      return;
    }
    const addressee = addresseeOf(request.uri, this.#o.domain, this.#self);
    switch (addressee.kind) {
      case 'server':
        answerAsServer(request, transaction, (why) => this.#fw.count(why));
        return;
      case 'domain':
        // An ACK outside any dialog and transaction has nowhere to go (the ACK of a 2xx carries our Route).
        if (request.method === 'ACK') this.#fw.count('not-found');
        else if (asserted === undefined && this.#mustAuthenticate(request))
          void this.#authenticate(request, transaction, source, (aor) =>
            this.#toAor(request, transaction, addressee.aor, aor),
          );
        else void this.#toAor(request, transaction, addressee.aor, asserted);
        return;
      case 'bad-uri':
        this.#fw.reject(request, transaction, 400, 'bad-request');
        return;
      case 'other-scheme':
        this.#fw.reject(request, transaction, 416, 'unsupported-uri');
        return;
      case 'foreign':
        if (this.#o.foreignCalls === true && fromLocalUser(request, source, this.#o.flows))
          void this.#authenticate(request, transaction, source, () =>
            this.#toOtherDomain(request, transaction),
          );
        else this.#fw.reject(request, transaction, 403, 'relay-refused');
    }
  }

  #mustAuthenticate(request: SipRequest): boolean {
    return this.#o.callAuth !== undefined && callerToChallenge(request, this.#o.domain) !== undefined;
  }

  /** Runs `then` with the caller's AOR once its Proxy-Authorization holds; answers the 407 (or 403, 503) otherwise. */
  async #authenticate(
    request: SipRequest,
    transaction: ServerTransaction | undefined,
    source: TransportAddress,
    then: (aor: string | undefined) => void | Promise<void>,
  ): Promise<void> {
    const auth = this.#o.callAuth;
    const aor = callerToChallenge(request, this.#o.domain);
    if (auth === undefined || aor === undefined) {
      await then(undefined);
      return;
    }
    const verdict = await auth.check(request, source, aor);
    if (verdict.kind === 'ok') {
      await then(aor);
      return;
    }
    const why: ProxyRejection =
      verdict.kind === 'bad-request'
        ? 'bad-request'
        : verdict.kind === 'overloaded'
          ? 'overlay-error'
          : verdict.kind;
    this.#fw.reject(request, transaction, verdict.status, why, verdict.reason, verdict.headers);
  }

  /** A local user's call to another domain (only with `foreignCalls`): to the Request-URI's host. */
  async #toOtherDomain(request: SipRequest, transaction: ServerTransaction | undefined): Promise<void> {
    const target = await resolveUri(request.uri, this.#self);
    if (target === undefined) this.#fw.reject(request, transaction, 404, 'not-found');
    else this.#fw.forward(request, transaction, { uri: request.uri, target });
  }

  /**
   * A response that matched no client transaction: a retransmitted 2xx of an INVITE we forwarded goes on
   * statelessly to the next Via (forwarding.ts); false for anything else.
   */
  onStrayResponse(response: SipResponse): boolean {
    return relayStrayResponse(this.#o.layer, response);
  }

  async #toAor(
    request: SipRequest,
    transaction: ServerTransaction | undefined,
    aor: string,
    asserted?: string,
    skip: ReadonlySet<string> = new Set(),
  ): Promise<void> {
    // An INVITE rings every contact of the AOR (forking, RFC 3261 §16.6); other requests go to the freshest one.
    const fork = request.method === 'INVITE' && transaction !== undefined;
    let route: Route | ForkTarget[] | ProxyRejection;
    try {
      route = await this.#locate(aor, skip, fork);
    } catch {
      // Routes are briefly missing while a zone changes hands (a LEAVE, a takeover): one more try, a moment later.
      await new Promise<void>((resolve) => this.#o.layer.clock.setTimer(resolve, OVERLAY_RETRY_MS));
      try {
        route = await this.#locate(aor, skip, fork);
      } catch (error) {
        route = DhtError.is(error) && error.status === 503 ? 'overloaded' : 'overlay-error';
      }
    }
    if (typeof route === 'string') {
      const status = REJECTION_STATUS[route];
      this.#fw.reject(request, transaction, status, route);
      this.#o.onCall?.({ method: request.method, aor, status });
      return;
    }
    if (Array.isArray(route)) this.#fw.fork(request, transaction as ServerTransaction, aor, asserted, route);
    else this.#fw.forward(request, transaction, route, { aor, asserted });
  }

  #bindingRoute(aor: string, binding: Binding): ReturnType<typeof bindingRoute> {
    return bindingRoute(binding, {
      aor,
      peerIdHex: this.#o.peerIdHex,
      flows: this.#o.flows,
      location: this.#o.location,
      isSelf: (address) => address.address === this.#self.address && address.port === this.#self.port,
      peerFlow: (peer) => this.#o.flowRoutes?.table.get(peer, this.#o.layer.clock.now())?.source,
    });
  }

  /**
   * Where a request for `aor` goes: the binding refreshed last, over its flow here or through its flow peer; for
   * an INVITE (`fork`) every live binding, grouped by user agent (binding-route.ts).
   */
  async #locate(
    aor: string,
    skip: ReadonlySet<string>,
    fork: boolean,
  ): Promise<Route | ForkTarget[] | ProxyRejection> {
    const bindings = await this.#o.location.lookup(aor);
    if (bindings.length === 0)
      return (await this.#o.location.credential(aor)) === undefined ? 'unknown-user' : 'no-binding';
    // A binding over a flow that died (here, or a flow peer answered 430) is passed over: the client's other flow
    // (reg-id) takes the request (RFC 5626 §4.2); when every binding's flow died, 430.
    const live = bindings.filter((b) => !skip.has(bindingSubkey(b)) && !this.#failedHere(aor, b));
    if (live.length === 0) return 'flow-failed';
    if (fork) return forkTargets(live);
    // Not an INVITE: the binding with the most time left, the latest stored on a tie.
    const best = freshest(live)!;
    const route = await this.#bindingRoute(aor, best);
    return typeof route === 'string' ? route : { ...route, failover: { binding: bindingSubkey(best), skip } };
  }

  #failedHere(aor: string, binding: Binding): boolean {
    return (
      Buffer.from(binding.flowPeer).toString('hex') === this.#o.peerIdHex &&
      this.#o.flows.get(aor, binding)?.failed === true
    );
  }

  /** Forgets pending INVITEs (their transactions were abandoned with the layer). */
  clear(): void {
    this.#fw.invites.clear();
  }
}
