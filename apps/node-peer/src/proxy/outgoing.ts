import { isIP } from 'node:net';
import {
  type ServerTransaction,
  type SipRequest,
  type SipTransactionLayer,
  type SipTransportName,
  type TransportAddress,
} from '@xpp/session-sdp';
import type { BindingRoute } from './binding-route.js';
import { forwardedRequest, routesTo } from './forwarding.js';
import { retargetedByPeer } from './flow-match.js';
import {
  FLOW_AUTH_HEADER,
  FLOW_ROUTE_LABEL,
  flowRouteFields,
  parseFlowRoute,
  type FlowRoutes,
} from './flow-route.js';
import { IDENTITY_HEADER, type IdentityAsserter } from './identity.js';
import { routeNamesUs } from './policy.js';
import type { RecordRouteSigner } from './record-route.js';

/** What {@link OutgoingRequests} needs of the proxy's configuration (SipProxyOptions). */
export interface OutgoingRequestsOptions {
  readonly domain: string;
  readonly layer: SipTransactionLayer;
  readonly peerIdHex: string;
  readonly recordRoutes: RecordRouteSigner;
  readonly asserter?: IdentityAsserter | undefined;
  readonly flowRoutes?: FlowRoutes | undefined;
}

/**
 * How this proxy appears on the requests it sends on (RFC 3261 §16.6): its Record-Route faces, the flow route it
 * signs for a NATed peer's holder, the identity it asserts; and whether a Route value names it.
 */
export class OutgoingRequests {
  readonly recordRoutes: RecordRouteSigner;
  readonly #o: OutgoingRequestsOptions;

  constructor(options: OutgoingRequestsOptions) {
    this.#o = options;
    this.recordRoutes = options.recordRoutes;
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
    route: BindingRoute,
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
        return this.recordRoutes.flowValue(request, this.#o.peerIdHex, holder);
      const at = this.#o.layer.localFor(transport, familyOf(side?.address)) ?? this.#self;
      return transport === 'UDP'
        ? this.recordRoutes.value(request, at)
        : this.recordRoutes.value(request, at, transport);
    };
    const callee = face(route.target, route.flowPeer !== undefined);
    const caller = face(transaction?.target, retargetedByPeer(request));
    return caller === callee ? [callee] : [callee, caller];
  }

  /** Whether a Route value names this node: its SIP address (or domain), or one of its TLS, WS, WSS listeners. */
  namesUs(route: string): boolean {
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

  /** The request as sent on to `route` (RFC 3261 §16.6), Record-Routed when it is an INVITE, marked when asserted. */
  prepare(
    request: SipRequest,
    transaction: ServerTransaction | undefined,
    route: BindingRoute,
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
  #assert(forwarded: SipRequest, aor: string, route: BindingRoute): void {
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
}

function familyOf(address: string | undefined): 4 | 6 | undefined {
  const family = address === undefined ? 0 : isIP(address);
  return family === 0 ? undefined : family === 4 ? 4 : 6;
}
