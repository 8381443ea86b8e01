import { isIP } from 'node:net';
import { bindingSubkey, DhtError, type Binding, type LocationService } from '@xpp/dht';
import { bindingRoute, forkTargets, freshest, type BindingRoute, type ForkTarget } from './binding-route.js';
import { DEFAULT_MAX_BRANCHES, DEFAULT_TIMER_C_MS } from './fork.js';
import { ForkedInvite } from './fork-invite.js';
import { InviteTable } from './invite-table.js';
import {
  SessionError,
  type SipTransactionLayer,
  createResponse,
  parseNameAddr,
  type ServerTransaction,
  type SipRequest,
  type SipResponse,
  type SipTransportName,
  type TransportAddress,
} from '@xpp/session-sdp';
import type { Flow, FlowTable } from '../registrar/flows.js';
import { flowForRequest, retargetedByPeer } from './flow-match.js';
import { localTag } from '../sip/tags.js';
import {
  cancelFor,
  forwardedRequest,
  relayStrayResponse,
  maxForwardsOf,
  routesTo,
  transactionKeyOf,
  uriTarget,
  withoutFirst,
} from './forwarding.js';
import { callerToChallenge, type CallAuthenticator } from './call-auth.js';
import { assertionRefusal, IDENTITY_HEADER, type IdentityAsserter } from './identity.js';
import { addresseeOf, fromLocalUser, resolveUri, routeNamesUs } from './policy.js';
import { RecordRouteSigner } from './record-route.js';
import {
  FLOW_AUTH_HEADER,
  FLOW_ROUTE_LABEL,
  flowRouteFields,
  heldFlowPeer,
  parseFlowRoute,
  type FlowSigner,
  type PeerFlowTable,
} from './flow-route.js';
import { REJECTION_STATUS, type ProxyRejection } from './rejections.js';
import { answerAsServer } from '../sip/server-answers.js';

export type { ProxyRejection } from './rejections.js';

/** Default bound on INVITEs being forwarded (waiting for a final response) at once; more get 503. */
export const DEFAULT_MAX_PENDING_INVITES = 512;

/** Wait before the one retry of an overlay lookup that failed, ms. */
export const OVERLAY_RETRY_MS = 250;
/** Retry-After of the proxy's 503 answers, seconds. */
export const RETRY_AFTER_S = 5;

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
  readonly flowRoutes?: {
    readonly signer: FlowSigner;
    readonly table: PeerFlowTable;
    readonly holder: () => TransportAddress | undefined;
  };
  /** A request for an AOR got its final status (forwarded back or answered here). */
  readonly onCall?: (event: { method: string; aor: string; status: number; to?: TransportAddress }) => void;
}

interface Route extends BindingRoute {
  /**
   * For a request to an AOR: the chosen binding (`bindingSubkey`) and those passed over already. A 430 from the flow
   * peer (RFC 5626 §5.3) sends the request to the AOR's next binding instead of upstream.
   */
  readonly failover?: { readonly binding: string; readonly skip: ReadonlySet<string> };
}

/**
 * A transaction-stateful RFC 3261 §16 proxy for the overlay's domain (docs/decisions/node-peer-proxy.md): requests
 * for `sip:user@domain` are looked up in the overlay and sent to the peer holding the callee's flow, which sends
 * them over that flow; it Record-Routes INVITEs so in-dialog requests take the same peers, and relays CANCEL.
 */
export class SipProxy {
  readonly stats = { proxied: 0, rejected: {} as Record<string, number> };
  readonly #o: SipProxyOptions;
  readonly #recordRoutes: RecordRouteSigner;
  /** INVITEs being routed, forwarded or forked, for their CANCEL (§16.10). */
  readonly #invites: InviteTable;

  constructor(options: SipProxyOptions) {
    this.#o = options;
    this.#invites = new InviteTable(options.maxPendingInvites ?? DEFAULT_MAX_PENDING_INVITES);
    this.#recordRoutes = options.recordRoutes ?? new RecordRouteSigner();
  }

  get pendingInvites(): number {
    return this.#invites.pending;
  }

  get #self(): TransportAddress {
    return this.#o.layer.local;
  }

  /**
   * Our Record-Route for a forwarded INVITE: one value naming the side each request of the dialog reaches us on, or,
   * when the caller's side and the callee's differ (UDP and a stream, two streams, or a stream client and the next
   * peer over UDP), RFC 5658's double Record-Route — the callee's face on top, the caller's below it. One value naming
   * a WebSocket listener cannot serve the next peer: it can't open a WebSocket to us, and an in-dialog request
   * would die there. TLS, WS and WSS name their listener's port, with `;transport=`.
   */
  #recordRoute(
    request: SipRequest,
    transaction: ServerTransaction | undefined,
    route: Omit<Route, 'failover'>,
  ): string[] {
    // A dual-stack peer (issue #20 item 6) names itself in the family of the side: IPv4 and IPv6 faces differ too.
    // Behind a NAT, the side toward other peers gets our flow route through our holder (flow-route.ts).
    const holder = this.#o.flowRoutes?.holder();
    const face = (
      side: { transport?: SipTransportName; address: string } | undefined,
      overlay: boolean,
    ): string => {
      const transport = side?.transport ?? 'UDP';
      if (overlay && holder !== undefined && transport === 'UDP')
        return this.#recordRoutes.flowValue(request, this.#o.peerIdHex, holder);
      const at = this.#o.layer.localFor(transport, familyOf(side?.address)) ?? this.#self;
      return transport === 'UDP'
        ? this.#recordRoutes.value(request, at)
        : this.#recordRoutes.value(request, at, transport);
    };
    const callee = face(route.target, route.flowPeer !== undefined);
    const caller = face(transaction?.target, retargetedByPeer(request));
    return caller === callee ? [callee] : [callee, caller];
  }

  /** Whether a Route value names this node: its SIP address (or domain), or one of its TLS, WS, WSS listeners. */
  #namesUs(route: string): boolean {
    if (routeNamesUs(route, this.#o.domain, this.#self)) return true;
    // Behind a NAT: our flow route, through whichever holder (its token, if any, is checked as ours).
    if (parseFlowRoute(route)?.peer === this.#o.peerIdHex) return true;
    return (['UDP', 'TLS', 'WS', 'WSS'] as const).some((t) =>
      ([4, 6] as const).some((family) => {
        const local = this.#o.layer.localFor(t, family);
        return local !== undefined && routesTo(route, local);
      }),
    );
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
      if (!this.#namesUs(top) || this.#recordRoutes.recognises(top, request)) return false;
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
      if (key !== undefined) this.#invites.routing(key, request, transaction);
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
      else this.#reject(request, transaction, verdict.status, verdict.why, verdict.reason);
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
      if (transaction !== undefined) this.#cancel(request, transaction);
      return;
    }
    if (maxForwardsOf(request) <= 0) {
      this.#reject(request, transaction, 483, 'too-many-hops');
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
    if (!this.#namesUs(topRoute)) {
      this.#reject(request, transaction, 403, 'relay-refused');
      return;
    }
    const rest = { ...request, headers: withoutFirst(request.headers, 'route') };
    if (this.#recordRoutes.recognises(topRoute, request)) {
      // RFC 5658: the other half of our double Record-Route follows the first; it is ours too, and goes.
      const second = rest.headers.get('route');
      const own =
        second !== undefined && this.#namesUs(second) && this.#recordRoutes.recognises(second, rest);
      this.#inDialog(
        own ? { ...rest, headers: withoutFirst(rest.headers, 'route') } : rest,
        transaction,
        asserted,
      );
      return;
    }
    // Our address without our token: a client's outbound-proxy Route (RFC 3261 §8.1.2), followed by nothing but
    // the Request-URI; a Route set that goes on from here was not made by us.
    if (rest.headers.has('route')) this.#reject(request, transaction, 403, 'relay-refused');
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
    if (target === undefined) this.#reject(request, transaction, 404, 'not-found');
    else this.#forward(request, transaction, { uri: request.uri, target }, { asserted });
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
    if (verdict?.kind !== 'verified') this.#reject(request, transaction, 403, 'flow-route-refused');
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
    if (flow === undefined) this.#reject(request, transaction, 430, 'flow-failed');
    else
      this.#forward(
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
    if (delivery.flow.failed === true) this.#reject(request, transaction, 430, 'flow-failed');
    else
      this.#forward(request, transaction, { uri: delivery.uri, target: delivery.flow.source }, { asserted });
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
      this.#reject(request, transaction, 430, 'flow-failed');
      return;
    }
    const addressee = addresseeOf(request.uri, this.#o.domain, this.#self);
    switch (addressee.kind) {
      case 'server':
        answerAsServer(request, transaction, (why) => this.#count(why));
        return;
      case 'domain':
        // An ACK outside any dialog and transaction has nowhere to go (the ACK of a 2xx carries our Route).
        if (request.method === 'ACK') this.#count('not-found');
        else if (asserted === undefined && this.#mustAuthenticate(request))
          void this.#authenticate(request, transaction, source, (aor) =>
            this.#toAor(request, transaction, addressee.aor, aor),
          );
        else void this.#toAor(request, transaction, addressee.aor, asserted);
        return;
      case 'bad-uri':
        this.#reject(request, transaction, 400, 'bad-request');
        return;
      case 'other-scheme':
        this.#reject(request, transaction, 416, 'unsupported-uri');
        return;
      case 'foreign':
        if (this.#o.foreignCalls === true && fromLocalUser(request, source, this.#o.flows))
          void this.#authenticate(request, transaction, source, () =>
            this.#toOtherDomain(request, transaction),
          );
        else this.#reject(request, transaction, 403, 'relay-refused');
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
    this.#reject(request, transaction, verdict.status, why, verdict.reason, verdict.headers);
  }

  /** A local user's call to another domain (only with `foreignCalls`): to the Request-URI's host. */
  async #toOtherDomain(request: SipRequest, transaction: ServerTransaction | undefined): Promise<void> {
    const target = await resolveUri(request.uri, this.#self);
    if (target === undefined) this.#reject(request, transaction, 404, 'not-found');
    else this.#forward(request, transaction, { uri: request.uri, target });
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
      this.#reject(request, transaction, status, route);
      this.#o.onCall?.({ method: request.method, aor, status });
      return;
    }
    if (Array.isArray(route)) this.#fork(request, transaction as ServerTransaction, aor, asserted, route);
    else this.#forward(request, transaction, route, { aor, asserted });
  }

  /** An INVITE to every contact of `aor` (fork-invite.ts). */
  #fork(
    request: SipRequest,
    transaction: ServerTransaction,
    aor: string,
    asserted: string | undefined,
    targets: ForkTarget[],
  ): void {
    // Cancelled while its contacts were looked up: the 487 went already.
    if (transaction.state !== 'proceeding') return;
    const key = transactionKeyOf(request);
    if (key === undefined || this.#invites.full) {
      this.#reject(request, transaction, 503, 'overloaded');
      return;
    }
    const fork = new ForkedInvite({
      layer: this.#o.layer,
      request,
      transaction,
      targets,
      maxBranches: this.#o.maxForkBranches ?? DEFAULT_MAX_BRANCHES,
      timerCMs: this.#o.timerCMs ?? DEFAULT_TIMER_C_MS,
      route: (binding) => this.#bindingRoute(aor, binding),
      prepare: (route) => this.#prepare(request, transaction, route, asserted),
      forgetPeer: (peer) => this.#o.location.forgetPeer(peer),
      sent: () => this.stats.proxied++,
      failed: (why) => this.#count(why),
      answered: (status, to) => {
        this.#invites.done(key);
        this.#o.onCall?.({ method: request.method, aor, status, ...(to === undefined ? {} : { to }) });
      },
    });
    this.#invites.forked(key, fork);
    fork.start();
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

  #forward(
    request: SipRequest,
    transaction: ServerTransaction | undefined,
    route: Route,
    context: { aor?: string | undefined; asserted?: string | undefined } = {},
  ): void {
    // An INVITE cancelled while it was routed (§16.10): the 487 went already, nothing goes on.
    if (request.method === 'INVITE' && transaction !== undefined && transaction.state !== 'proceeding')
      return;
    const layer = this.#o.layer;
    const aor = context.aor;
    const forwarded = this.#prepare(request, transaction, route, context.asserted);
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
    if (key !== undefined && this.#invites.full) {
      this.#reject(request, transaction, 503, 'overloaded');
      return;
    }
    const done = (status: number) => {
      if (key !== undefined) this.#invites.done(key);
      if (aor !== undefined) this.#o.onCall?.({ method: request.method, aor, status, to: route.target });
    };
    try {
      layer.sendRequest(forwarded, route.target, {
        response: (response) => {
          // §16.7: our own 100 went already; every other response goes back without our Via.
          if (response.status === 100) return;
          const failover = route.failover;
          if (response.status === 430 && aor !== undefined && failover !== undefined) {
            // The flow peer's flow died: the AOR's next binding, if any, takes the request (else 430 upstream).
            if (key !== undefined) {
              this.#invites.done(key);
              this.#invites.routing(key, request, transaction);
            }
            void this.#toAor(
              request,
              transaction,
              aor,
              context.asserted,
              new Set([...failover.skip, failover.binding]),
            );
            return;
          }
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
    if (key !== undefined) this.#invites.forwarded(key, forwarded, route.target);
    this.stats.proxied++;
  }

  /** The request as sent on to `route` (RFC 3261 §16.6), Record-Routed when it is an INVITE, marked when asserted. */
  #prepare(
    request: SipRequest,
    transaction: ServerTransaction | undefined,
    route: Omit<Route, 'failover'>,
    asserted: string | undefined,
  ): SipRequest {
    const forwarded = forwardedRequest(request, {
      uri: route.uri,
      via: this.#o.layer.newVia(),
      ...(request.method === 'INVITE' ? { recordRoute: this.#recordRoute(request, transaction, route) } : {}),
    });
    if (route.route !== undefined) forwarded.headers.prepend('Route', route.route);
    this.#signFlowRoute(forwarded);
    if (asserted !== undefined) this.#assert(forwarded, asserted, route);
    return forwarded;
  }

  /** Signs a request whose next hop is another holder's flow route (it checks who sends through it). */
  #signFlowRoute(forwarded: SipRequest): void {
    forwarded.headers.delete(FLOW_AUTH_HEADER);
    const top = forwarded.headers.get('route');
    const flowRoute = top === undefined ? undefined : parseFlowRoute(top);
    const signer = this.#o.flowRoutes?.signer;
    if (flowRoute === undefined || signer === undefined || routesTo(top as string, this.#self)) return;
    try {
      forwarded.headers.set(
        FLOW_AUTH_HEADER,
        signer.sign(FLOW_ROUTE_LABEL, flowRouteFields(forwarded, flowRoute.peer)),
      );
    } catch {
      // Our certificate no longer matches our key (a renewal in progress): unsigned, the holder refuses it (403).
    }
  }

  /**
   * Marks a forwarded request with the caller this peer verified: `P-Asserted-Identity` for the callee (RFC 3325),
   * and for a next peer the signed `XPP-Identity` it will check before believing it (a next peer strips the first).
   */
  #assert(forwarded: SipRequest, aor: string, route: Omit<Route, 'failover'>): void {
    // RFC 3261 §22.3: the credentials for our realm were consumed here; the next hop has no use for them.
    forwarded.headers.delete('proxy-authorization');
    forwarded.headers.set('P-Asserted-Identity', `<${aor}>`);
    if (route.flowPeer === undefined || this.#o.asserter === undefined) return;
    try {
      forwarded.headers.set(IDENTITY_HEADER, this.#o.asserter.sign(forwarded));
    } catch {
      // No From/To address-of-record to sign over: the next peer takes the call as unasserted.
    }
  }

  /**
   * §16.10: answer the CANCEL 200 and cancel the INVITE — the one we forwarded (its final response comes back as
   * usual), every branch of a fork, or one still being routed, which is answered 487 here and never sent on.
   */
  #cancel(request: SipRequest, transaction: ServerTransaction): void {
    const key = transactionKeyOf(request);
    const held = key === undefined ? undefined : this.#invites.find(key);
    if (key === undefined || held === undefined) {
      this.#reject(request, transaction, 481, 'unmatched-cancel');
      return;
    }
    transaction.respond(createResponse(request, 200, { toTag: localTag() }));
    switch (held.kind) {
      case 'fork':
        held.fork.cancel();
        return;
      case 'routing':
        this.#invites.done(key);
        if (held.transaction.state === 'proceeding')
          held.transaction.respond(createResponse(held.request, 487, { toTag: localTag() }));
        return;
      case 'forwarded':
        try {
          this.#o.layer.sendRequest(cancelFor(held.forwarded), held.target, {
            response: () => undefined,
            timeout: () => undefined,
            transportError: () => undefined,
          });
          this.stats.proxied++;
        } catch {
          this.#count('overloaded');
        }
    }
  }

  #reject(
    request: SipRequest,
    transaction: ServerTransaction | undefined,
    status: number,
    why: ProxyRejection,
    reason?: string,
    extra: [string, string][] = [],
  ): void {
    this.#count(why);
    if (request.method === 'INVITE') {
      const key = transactionKeyOf(request);
      if (key !== undefined) this.#invites.done(key);
    }
    // A 503 is temporary here (load, or a zone changing hands): say when to try again (RFC 3261 §21.5.4).
    const headers: [string, string][] =
      status === 503 && !extra.some(([name]) => name === 'Retry-After')
        ? [...extra, ['Retry-After', String(RETRY_AFTER_S)]]
        : extra;
    transaction?.respond(
      createResponse(request, status, {
        toTag: localTag(),
        headers,
        ...(reason === undefined ? {} : { reason }),
      }),
    );
  }

  #count(why: ProxyRejection): void {
    this.stats.rejected[why] = (this.stats.rejected[why] ?? 0) + 1;
  }

  /** Forgets pending INVITEs (their transactions were abandoned with the layer). */
  clear(): void {
    this.#invites.clear();
  }
}

function familyOf(address: string | undefined): 4 | 6 | undefined {
  const family = address === undefined ? 0 : isIP(address);
  return family === 0 ? undefined : family === 4 ? 4 : 6;
}
