import { randomBytes } from 'node:crypto';
import type { OverlayNode } from '@xpp/dht';
import type { Clock, TimerHandle } from '@xpp/reliability';
import {
  createResponse,
  SipHeaders,
  type ServerTransaction,
  type SipRequest,
  type TransportAddress,
} from '@xpp/session-sdp';
import {
  flowRouteUri,
  PEER_FLOW_HEADER,
  PEER_FLOW_LABEL,
  PEER_FLOW_LIFETIME_S,
  peerFlowFields,
  type FlowSigner,
  type PeerFlowTable,
} from '../proxy/flow-route.js';
import { uriTarget } from '../proxy/forwarding.js';
import { localTag } from './tags.js';

/** A NATed peer refreshes its flows this often: within every NAT's UDP timeout (RFC 4787 REQ-5: ≥ 2 min, often 30 s). */
export const PEER_FLOW_REFRESH_MS = 20_000;
/** Until it holds a flow, a NATed peer tries again this often. */
export const PEER_FLOW_RETRY_MS = 1_000;
/** Flow holders a NATed peer keeps (RFC 5626 §4.2: two flows, one to fail over to). */
export const PEER_FLOW_HOLDERS = 2;

/**
 * A holder's side: a REGISTER carrying {@link PEER_FLOW_HEADER} from a certified peer opens (or refreshes) that
 * peer's flow at the REGISTER's source. Answers 200 with `Flow-Timer`, 403 on a bad signature, 503 when full.
 */
export async function answerPeerFlow(
  request: SipRequest,
  transaction: ServerTransaction,
  source: TransportAddress,
  context: { signer: FlowSigner; table: PeerFlowTable; clock: Clock },
): Promise<'registered' | 'peer-flow-refused' | 'peer-flow-full'> {
  const verdict = await context.signer.verify(
    request.headers.get(PEER_FLOW_HEADER),
    PEER_FLOW_LABEL,
    peerFlowFields(request, context.signer.peerId),
  );
  if (verdict.kind !== 'verified' || verdict.peer === context.signer.peerId) {
    transaction.respond(createResponse(request, 403, { toTag: localTag() }));
    return 'peer-flow-refused';
  }
  if (!context.table.set(verdict.peer, source, verdict.date, context.clock.now())) {
    transaction.respond(
      createResponse(request, 503, { toTag: localTag(), headers: [['Retry-After', '30']] }),
    );
    return 'peer-flow-full';
  }
  transaction.respond(
    createResponse(request, 200, {
      toTag: localTag(),
      headers: [
        ['Flow-Timer', String(PEER_FLOW_REFRESH_MS / 1000)],
        ['Expires', String(PEER_FLOW_LIFETIME_S)],
      ],
    }),
  );
  return 'registered';
}

interface Holder {
  readonly id: string;
  readonly address: TransportAddress;
  readonly callId: string;
  cseq: number;
  pending: boolean;
  up: boolean;
}

export interface PeerOutboundOptions {
  readonly node: OverlayNode;
  readonly signer: FlowSigner;
  readonly domain: string;
  readonly clock: Clock;
  /** The flow route this peer is reached at changed (undefined: it has none). */
  readonly onRoute: (route: string | undefined) => void;
}

/**
 * A NATed peer's side (docs/decisions/node-peer-nat-sip.md): once its XPP endpoint learned a server-reflexive
 * candidate, it keeps a signed REGISTER flow from its SIP socket to up to two linked neighbours that answer (public
 * ones: a NATed neighbour's SIP socket cannot be reached), refreshed within the NAT's timeout; its flow route names
 * the first of them. Public peers never start a flow.
 */
export class PeerOutbound {
  readonly #o: PeerOutboundOptions;
  readonly #holders = new Map<string, Holder>();
  #timer: TimerHandle | undefined;
  #route: string | undefined;
  #stopped = false;

  constructor(options: PeerOutboundOptions) {
    this.#o = options;
  }

  /** `sip:<our id>@<holder>;lr;xpp-flow`, when a holder keeps our flow. */
  get route(): string | undefined {
    return this.#route;
  }

  /** The holder the route names. */
  get holder(): TransportAddress | undefined {
    return this.#primary()?.address;
  }

  /** The neighbours holding a flow of ours now. */
  get holders(): string[] {
    return [...this.#holders.values()].filter((h) => h.up).map((h) => h.id);
  }

  start(): void {
    this.#schedule(0);
  }

  stop(): void {
    this.#stopped = true;
    if (this.#timer !== undefined) this.#o.clock.clearTimer(this.#timer);
  }

  #schedule(ms: number): void {
    if (this.#stopped) return;
    this.#timer = this.#o.clock.setTimer(() => this.#tick(), ms);
  }

  #natted(): boolean {
    return this.#o.node.contact.candidates.some((c) => c.type === 'srflx');
  }

  #tick(): void {
    const node = this.#o.node;
    if (node.state !== 'peer' || !this.#natted()) {
      this.#schedule(PEER_FLOW_RETRY_MS);
      return;
    }
    const linked = node.neighbours().filter((n) => n.linked);
    const ids = new Set(linked.map((n) => n.id));
    for (const id of this.#holders.keys()) if (!ids.has(id)) this.#holders.delete(id);
    // Every holder is refreshed; while fewer than two answer, every other linked neighbour is asked too.
    const wanted = this.holders.length < PEER_FLOW_HOLDERS;
    for (const n of [...linked].sort((a, b) => (a.id < b.id ? -1 : 1))) {
      const address = uriTarget(n.uri);
      if (address === undefined) continue;
      let holder = this.#holders.get(n.id);
      if (holder === undefined) {
        if (!wanted) continue;
        holder = {
          id: n.id,
          address: { address: address.address, port: address.port },
          callId: `${randomBytes(9).toString('base64url')}@xpp`,
          cseq: 1,
          pending: false,
          up: false,
        };
        this.#holders.set(n.id, holder);
      }
      if (!holder.pending && (holder.up || wanted)) this.#register(holder);
    }
    this.#update();
    this.#schedule(this.holders.length > 0 ? PEER_FLOW_REFRESH_MS : PEER_FLOW_RETRY_MS);
  }

  #register(holder: Holder): void {
    const node = this.#o.node;
    const self = `sip:${node.id}@${this.#o.domain}`;
    const headers = new SipHeaders()
      .append('Via', node.ua.layer.newVia())
      .append('Max-Forwards', '70')
      .append('From', `<${self}>;tag=${randomBytes(6).toString('hex')}`)
      .append('To', `<${self}>`)
      .append('Call-ID', holder.callId)
      .append('CSeq', `${holder.cseq++} REGISTER`)
      .append('Contact', `<${node.ua.contactUri}>`)
      .append('Expires', String(PEER_FLOW_LIFETIME_S));
    const request: SipRequest = {
      kind: 'request',
      method: 'REGISTER',
      uri: `sip:${holder.address.address}:${holder.address.port}`,
      headers,
      body: new Uint8Array(0),
    };
    headers.append(
      PEER_FLOW_HEADER,
      this.#o.signer.sign(PEER_FLOW_LABEL, peerFlowFields(request, holder.id)),
    );
    const done = (up: boolean) => {
      holder.pending = false;
      holder.up = up;
      if (!up) this.#holders.delete(holder.id);
      this.#update();
    };
    holder.pending = true;
    try {
      node.ua.layer.sendRequest(request, holder.address, {
        response: (response) => {
          if (response.status >= 200) done(response.status === 200);
        },
        timeout: () => done(false),
        transportError: () => done(false),
      });
    } catch {
      done(false);
    }
  }

  /** The first holder that answered, kept while it answers (a route change re-announces the PEER record). */
  #primary(): Holder | undefined {
    return [...this.#holders.values()].find((h) => h.up);
  }

  #update(): void {
    const primary = this.#primary();
    const route = primary === undefined ? undefined : flowRouteUri(this.#o.node.id, primary.address);
    if (route === this.#route) return;
    this.#route = route;
    this.#o.onRoute(route);
  }
}
