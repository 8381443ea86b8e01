import {
  createOriginVerifier,
  signOrigin,
  type AdminKeySet,
  type PeerCertificate,
  type PeerIdentity,
} from '@xpp/dht';
import {
  formatHost,
  parseNameAddr,
  parseSipUri,
  type SipRequest,
  type TransportAddress,
} from '@xpp/session-sdp';
import { uriTarget } from './forwarding.js';

/**
 * Peers behind a NAT reach and are reached over a SIP flow they keep to a public neighbour, its "flow holder"
 * (docs/decisions/node-peer-nat-sip.md). A request for such a peer goes to the holder with a Route naming the
 * holder's address and the NATed peer's id: `<sip:<peer id>@<holder>;lr;xpp-flow>`.
 */
export const FLOW_ROUTE_PARAM = 'xpp-flow';
/** On the REGISTER that opens (and refreshes) a peer's flow at its holder: the peer's signature. */
export const PEER_FLOW_HEADER = 'XPP-Peer-Flow';
/** On a request sent to a holder for a peer's flow: the sending peer's signature (no open relay). */
export const FLOW_AUTH_HEADER = 'XPP-Flow-Auth';
/** A signature whose date is further than this from the receiver's clock is refused, s. */
export const FLOW_AUTH_WINDOW_S = 60;
/** Flows one holder keeps for NATed peers at most; a REGISTER for one more is answered 503. */
export const DEFAULT_MAX_PEER_FLOWS = 256;
/** How long a holder keeps a peer's flow after its last REGISTER, s (the peer refreshes every 20 s). */
export const PEER_FLOW_LIFETIME_S = 75;

const PEER_ID = /^[0-9a-f]{32}$/;
const VALUE = /^([A-Za-z0-9_-]{1,4096});t=(\d{1,12})$/;

/** `<sip:<peer>@<holder>;lr;xpp-flow>` without the angle brackets. */
export function flowRouteUri(peerIdHex: string, holder: TransportAddress, params = ''): string {
  return `sip:${peerIdHex}@${formatHost(holder.address)}:${holder.port};lr;${FLOW_ROUTE_PARAM}${params}`;
}

/** The NATed peer and its holder's address a Route value (or URI) names, when it is a flow route. */
export function parseFlowRoute(value: string): { peer: string; holder: TransportAddress } | undefined {
  const uri = value.trimStart().startsWith('<') ? parseNameAddr(value)?.uri : value;
  const parsed = uri === undefined ? undefined : parseSipUri(uri);
  if (parsed === undefined || !parsed.params.has(FLOW_ROUTE_PARAM)) return undefined;
  const peer = parsed.user?.toLowerCase();
  const holder = uriTarget(uri as string);
  if (peer === undefined || !PEER_ID.test(peer) || holder === undefined) return undefined;
  return { peer, holder: { address: holder.address, port: holder.port } };
}

/** The NATed peer whose flow `route` asks `self` (the holder, peer `selfId`) to use; undefined for any other route. */
export function heldFlowPeer(
  route: string | undefined,
  selfId: string,
  self: TransportAddress,
): string | undefined {
  const flowRoute = route === undefined ? undefined : parseFlowRoute(route);
  if (flowRoute === undefined || flowRoute.peer === selfId) return undefined;
  const { holder } = flowRoute;
  return holder.address === self.address && holder.port === self.port ? flowRoute.peer : undefined;
}

export type FlowSignatureVerdict =
  | { readonly kind: 'verified'; readonly peer: string; readonly date: number }
  | { readonly kind: 'absent' | 'malformed' | 'stale' | 'invalid' | 'revoked' | 'replayed' };

export interface FlowSignerOptions {
  readonly identity: PeerIdentity;
  readonly certificate: PeerCertificate | (() => PeerCertificate);
  readonly admins: AdminKeySet;
  readonly domain: string;
  readonly clock: { wallNow(): number };
  readonly isRevoked?: (peerIdHex: string) => boolean | Promise<boolean>;
  /** Signatures remembered against replay. Default 100 000 (the oldest go first). */
  readonly maxRemembered?: number;
}

/**
 * Signs and checks the two peer signatures of NAT traversal, each over its own label, the request's identifying
 * fields and a date: {@link PEER_FLOW_HEADER} (label, holder id, Call-ID, CSeq) and {@link FLOW_AUTH_HEADER} (label,
 * NATed peer id, method, Call-ID, CSeq). The certificate must hold under the domain's admin keys, the peer must not
 * be known revoked, the date must be within {@link FLOW_AUTH_WINDOW_S}, and a signature is taken once.
 */
export class FlowSigner {
  readonly #o: FlowSignerOptions;
  readonly #verify: (origin: Uint8Array, bytes: Uint8Array) => string;
  readonly #seen = new Map<string, number>();

  constructor(options: FlowSignerOptions) {
    this.#o = options;
    this.#verify = createOriginVerifier({
      admins: options.admins,
      domain: options.domain,
      clock: options.clock,
    });
  }

  get peerId(): string {
    return this.#o.identity.id;
  }

  /** The header value signing `fields` under `label` now. */
  sign(label: FlowLabel, fields: readonly string[]): string {
    const date = this.#now();
    const certificate = this.#o.certificate;
    const current = typeof certificate === 'function' ? certificate() : certificate;
    const origin = signOrigin(this.#o.identity, current, bytesOf(label, fields, date));
    return `${Buffer.from(origin).toString('base64url')};t=${date}`;
  }

  /** Checks `value` (a header's) over `fields` under `label`; `once` (default true) refuses a second use. */
  async verify(
    value: string | undefined,
    label: FlowLabel,
    fields: readonly string[],
    once = true,
  ): Promise<FlowSignatureVerdict> {
    if (value === undefined) return { kind: 'absent' };
    const match = VALUE.exec(value.trim());
    if (match === null) return { kind: 'malformed' };
    const date = Number(match[2]);
    const now = this.#now();
    if (Math.abs(now - date) > FLOW_AUTH_WINDOW_S) return { kind: 'stale' };
    let peer: string;
    try {
      peer = this.#verify(Buffer.from(match[1] as string, 'base64url'), bytesOf(label, fields, date));
    } catch {
      return { kind: 'invalid' };
    }
    if ((await this.#o.isRevoked?.(peer)) === true) return { kind: 'revoked' };
    if (once) {
      const key = match[1] as string;
      for (const [k, d] of this.#seen) {
        if (now - d <= FLOW_AUTH_WINDOW_S) break;
        this.#seen.delete(k);
      }
      if (this.#seen.has(key)) return { kind: 'replayed' };
      this.#seen.set(key, date);
      if (this.#seen.size > (this.#o.maxRemembered ?? 100_000))
        for (const oldest of this.#seen.keys()) {
          this.#seen.delete(oldest);
          break;
        }
    }
    return { kind: 'verified', peer, date };
  }

  #now(): number {
    return Math.floor(this.#o.clock.wallNow() / 1000);
  }
}

export type FlowLabel = 'xpp-sip peer-flow v1' | 'xpp-sip flow-route v1';
export const PEER_FLOW_LABEL: FlowLabel = 'xpp-sip peer-flow v1';
export const FLOW_ROUTE_LABEL: FlowLabel = 'xpp-sip flow-route v1';

/** The fields {@link FLOW_AUTH_HEADER} signs for a request to `peer`'s flow. */
export function flowRouteFields(request: SipRequest, peer: string): string[] {
  return [peer, request.method, request.headers.get('call-id') ?? '', request.headers.get('cseq') ?? ''];
}

/** The fields {@link PEER_FLOW_HEADER} signs for a flow REGISTER to the holder `holder`. */
export function peerFlowFields(request: SipRequest, holder: string): string[] {
  return [holder, request.headers.get('call-id') ?? '', request.headers.get('cseq') ?? ''];
}

function bytesOf(label: FlowLabel, fields: readonly string[], date: number): Uint8Array {
  // None of the fields can hold a line feed (SIP header values, hex ids).
  return new TextEncoder().encode([label, ...fields, String(date)].join('\n'));
}

/** One NATed peer's flow at this holder. */
export interface PeerFlow {
  readonly peer: string;
  readonly source: TransportAddress;
  readonly expiresAt: number;
  /** The date of the REGISTER that set it (an older one never replaces it). */
  readonly date: number;
}

/** The flows this peer holds for NATed peers, by peer id (bounded). */
export class PeerFlowTable {
  readonly #flows = new Map<string, PeerFlow>();
  readonly #max: number;

  constructor(max = DEFAULT_MAX_PEER_FLOWS) {
    this.#max = max;
  }

  get size(): number {
    return this.#flows.size;
  }

  /** The live flow of `peer`, if any. */
  get(peer: string, now: number): PeerFlow | undefined {
    const flow = this.#flows.get(peer);
    if (flow !== undefined && flow.expiresAt <= now) {
      this.#flows.delete(peer);
      return undefined;
    }
    return flow;
  }

  /** Keeps `peer`'s flow at `source`; false when the table is full of others' live flows. */
  set(peer: string, source: TransportAddress, date: number, now: number): boolean {
    const old = this.get(peer, now);
    if (old !== undefined && old.date > date) return true;
    if (old === undefined && this.#flows.size >= this.#max) {
      for (const [id, f] of this.#flows) if (f.expiresAt <= now) this.#flows.delete(id);
      if (this.#flows.size >= this.#max) return false;
    }
    this.#flows.set(peer, { peer, source, date, expiresAt: now + PEER_FLOW_LIFETIME_S * 1000 });
    return true;
  }

  delete(peer: string): void {
    this.#flows.delete(peer);
  }
}

/**
 * SIP through NATs (docs/decisions/node-peer-nat-sip.md): the flows this peer holds for NATed peers, the signer of
 * requests sent to another holder, and — behind a NAT — the holder this peer's own flow route names.
 */
export interface FlowRoutes {
  readonly signer: FlowSigner;
  readonly table: PeerFlowTable;
  readonly holder: () => TransportAddress | undefined;
}
