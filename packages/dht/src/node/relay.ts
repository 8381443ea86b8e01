import { randomBytes } from 'node:crypto';
import {
  buildSdp,
  parseSdp,
  SessionError,
  type ExchangedSession,
  type ParsedXppDescription,
  type TransportAddress,
  type XppDescription,
  type XppEndpoint,
  type XppSession,
} from '@xpp/session-sdp';
import { WireError, type Message, type XppOption } from '@xpp/wire';
import { DhtError } from '../errors.js';
import {
  decodeRelayConnect,
  decodeRelayConnectResponse,
  encodeRelayConnect,
  encodeRelayConnectResponse,
  type RelayConnectRequest,
} from '../messages.js';
import { DhtOperation } from '../operations.js';
import type { Admission } from './admission.js';
import type { NodeCounters } from './counters.js';
import type { Links } from './links.js';
import { peerIdHex, type Link, type Neighbour, type NeighbourTable } from './neighbour-table.js';
import type { NodeAuth } from './node-auth.js';
import { behindNat } from './reflexive.js';

/** Bounds of relaying (docs/decisions/dht-nat.md part 4); the per-source rates and idle time are the endpoint's. */
export const RELAY_DEFAULTS = Object.freeze({
  /** Relayed sessions one relay holds at once (allocated or being set up). */
  maxRelayed: 8,
  /** Of which one requesting peer may hold. */
  maxRelayedPerPeer: 2,
  /** How long the direct attempt of two NATed peers may take before the relayed one, ms (capped by the request timeout). */
  directTimeout: 4_000,
  /** Common neighbours tried as relays per connection. */
  relaysTried: 3,
});

/** What relaying needs of its node. */
export interface RelayContext {
  readonly counters: NodeCounters;
  /** Deadline of one request, ms. */
  readonly timeout: number;
  readonly table: NeighbourTable;
  readonly links: Pick<Links, 'requestPeer' | 'bind'>;
  readonly auth: Pick<NodeAuth, 'certified' | 'offer' | 'answer'>;
  readonly admission: Pick<Admission, 'acceptOffer'>;
  endpoint(): XppEndpoint;
}

/** A session an exchange over the overlay set up, as a neighbour link (no SIP call: hanging up closes it). */
function exchangedLink(exchanged: ExchangedSession, relay: string | undefined): Link {
  const { session, peer, overlay } = exchanged;
  return {
    session,
    peer,
    overlay,
    ...(relay === undefined ? {} : { relay }),
    hangUp: () => {
      session.close();
      return Promise.resolve();
    },
  };
}

function parseOffered(sdp: string): ParsedXppDescription {
  try {
    return parseSdp(sdp);
  } catch (cause) {
    throw new WireError('BAD_VALUE', 'RELAY-CONNECT carries no usable XPP description', { cause });
  }
}

/**
 * Sessions between two peers behind NATs, which cannot reach each other's SIP URI (docs/decisions/dht-nat.md part 4),
 * set up through a neighbour both have a link to: RELAY-CONNECT hands the offer over the relay's two links and brings
 * the answer back; both sides then SYN to each other's candidates (direct), or — when that does not open within
 * {@link RELAY_DEFAULTS.directTimeout} — the relay also forwards the session's sealed datagrams (relayed). Three
 * roles, one per method: the requester ({@link connect}), the relay and the target ({@link onConnect}). Only
 * certified peers relay or use a relay, and only over links: an outsider has no link to ask on.
 */
export class Relays {
  readonly #ctx: RelayContext;
  /** Relayed sessions held or being set up, per requesting peer. */
  readonly #held = new Map<string, number>();
  #total = 0;

  constructor(ctx: RelayContext) {
    this.#ctx = ctx;
  }

  /** The requester's side: a link to `n` through one of the common neighbours, direct when a path opens. */
  async connect(n: Neighbour, onSession: (session: XppSession) => void): Promise<Link> {
    if (!this.#ctx.auth.certified)
      throw new DhtError('FORBIDDEN', 'sessions through a relay need membership');
    const relays = this.#candidates(n);
    if (relays.length === 0) throw new DhtError('NO_ROUTE', `no common neighbour to reach ${n.id} through`);
    let failure: unknown;
    for (const relay of relays) {
      for (const relayed of [false, true]) {
        try {
          return await this.#attempt(relay, n, relayed, onSession);
        } catch (error) {
          failure = error;
          // The relay refused (no link to n, over its bounds) or failed: the next relay. A session that did not open
          // directly: the same relay, forwarding this time.
          if (!SessionError.is(error)) break;
        }
      }
    }
    throw failure;
  }

  /** RELAY-CONNECT from neighbour `sender`: hand the offer on as the relay, or answer it as the target. */
  onConnect(sender: string, request: Message): Promise<readonly XppOption[]> {
    const body = decodeRelayConnect(request.options);
    return body.offer.forwarded ? this.#answer(sender, body) : this.#relay(sender, body);
  }

  /** Linked neighbours not behind a NAT, those that list `n` as their neighbour first. */
  #candidates(n: Neighbour): Neighbour[] {
    const linked = [...this.#ctx.table.values()].filter(
      (r) => r.id !== n.id && r.link?.session.isOpen === true && !behindNat(r.contact),
    );
    const knows = (r: Neighbour) => r.peers.some((p) => p.id === n.id);
    return [...linked.filter(knows), ...linked.filter((r) => !knows(r))].slice(0, RELAY_DEFAULTS.relaysTried);
  }

  async #attempt(
    relay: Neighbour,
    n: Neighbour,
    relayed: boolean,
    onSession: (session: XppSession) => void,
  ): Promise<Link> {
    const via = relayed ? relay.link?.session.remote : undefined;
    if (relayed && via === undefined) throw new DhtError('NO_ROUTE', `no link to relay ${relay.id}`);
    const timeout = this.#ctx.timeout;
    const signal = AbortSignal.timeout(relayed ? timeout : Math.min(RELAY_DEFAULTS.directTimeout, timeout));
    const callId = randomBytes(12).toString('base64url');
    const offer = this.#ctx.auth.offer(callId, via, onSession, signal);
    try {
      const response = await this.#ctx.links.requestPeer(
        relay,
        DhtOperation.RELAY_CONNECT.type,
        encodeRelayConnect({
          peer: n.peerId,
          offer: { relayed, forwarded: false, callId, sdp: buildSdp(offer.description) },
        }),
      );
      const answer = parseOffered(decodeRelayConnectResponse(response.options));
      return exchangedLink(await offer.complete(answer), relayed ? relay.id : undefined);
    } finally {
      // No-op once the session opened (or failed to); gives the ltag back when no answer came.
      offer.cancel();
    }
  }

  /** The relay's side: the offer goes to `target` over its link, its answer back; with `relayed`, an allocation. */
  async #relay(sender: string, body: RelayConnectRequest): Promise<readonly XppOption[]> {
    const ctx = this.#ctx;
    if (!ctx.auth.certified)
      this.#refuse('relay-uncertified', 'FORBIDDEN', 'this peer relays for certified peers only');
    const from = ctx.table.get(sender);
    const target = ctx.table.get(peerIdHex(body.peer));
    const fromAddress = from?.link?.session.remote;
    const toAddress = target?.link?.session.isOpen === true ? target.link.session.remote : undefined;
    if (from === undefined || target === undefined || target.id === sender || toAddress === undefined)
      this.#refuse('relay-no-target', 'NO_ROUTE', 'no link to the peer asked for');
    const release = body.offer.relayed ? this.#reserve(sender) : () => undefined;
    try {
      const response = await ctx.links.requestPeer(
        target as Neighbour,
        DhtOperation.RELAY_CONNECT.type,
        encodeRelayConnect({ peer: (from as Neighbour).peerId, offer: { ...body.offer, forwarded: true } }),
        ctx.timeout / 2,
      );
      const answer = decodeRelayConnectResponse(response.options);
      if (body.offer.relayed)
        this.#allocate(
          { address: fromAddress as TransportAddress, sdp: body.offer.sdp },
          { address: toAddress as TransportAddress, sdp: answer },
          release,
        );
      return encodeRelayConnectResponse(answer);
    } catch (error) {
      release();
      throw error;
    }
  }

  /**
   * Forwards between the two links' addresses (each side latched to where its link is known from: its NAT keeps
   * that mapping open) and the two descriptions' ltags.
   */
  #allocate(
    a: { address: TransportAddress; sdp: string },
    b: { address: TransportAddress; sdp: string },
    release: () => void,
  ): void {
    const ltag = (sdp: string) => parseOffered(sdp).ltag;
    try {
      this.#ctx
        .endpoint()
        .relay.allocate(
          { address: a.address, ltag: ltag(a.sdp) },
          { address: b.address, ltag: ltag(b.sdp) },
          release,
        );
    } catch (error) {
      if (SessionError.is(error, 'TOO_LARGE'))
        this.#refuse('relay-full', 'STORE_FULL', 'the relay holds all the sessions it may');
      throw error;
    }
    this.#ctx.counters.count(this.#ctx.counters.handled, 'RELAY-ALLOCATE', 'ok');
  }

  /** Counts a relayed session for `sender` until the returned function is called (once); refuses over the bounds. */
  #reserve(sender: string): () => void {
    const held = this.#held.get(sender) ?? 0;
    if (held >= RELAY_DEFAULTS.maxRelayedPerPeer)
      this.#refuse(
        'relay-peer-full',
        'STORE_FULL',
        `a peer may hold ${RELAY_DEFAULTS.maxRelayedPerPeer} relayed sessions`,
      );
    if (this.#total >= RELAY_DEFAULTS.maxRelayed || this.#ctx.endpoint().relay.full)
      this.#refuse('relay-full', 'STORE_FULL', 'the relay holds all the sessions it may');
    this.#held.set(sender, held + 1);
    this.#total++;
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.#total--;
      const left = (this.#held.get(sender) ?? 1) - 1;
      if (left > 0) this.#held.set(sender, left);
      else this.#held.delete(sender);
    };
  }

  /**
   * The target's side: the offer the relay handed on is answered as a call — admitted as any (Admission), and only
   * when its `a=xpp-auth` names the peer the relay said it comes from; with `relayed`, to the relay's address.
   */
  async #answer(relayId: string, body: RelayConnectRequest): Promise<readonly XppOption[]> {
    const ctx = this.#ctx;
    const source = peerIdHex(body.peer);
    const via = body.offer.relayed ? ctx.table.get(relayId)?.link?.session.remote : undefined;
    if (body.offer.relayed && via === undefined)
      this.#refuse('relay-no-target', 'NO_ROUTE', 'no link to the relay');
    const offer = parseOffered(body.offer.sdp);
    let answered!: (description: XppDescription) => void;
    let failed!: (error: unknown) => void;
    const answer = new Promise<XppDescription>((resolve, reject) => {
      answered = resolve;
      failed = reject;
    });
    const relay = body.offer.relayed ? relayId : undefined;
    ctx.admission
      .acceptOffer(async (onSession, admit) => {
        const exchange = await ctx.auth.answer(
          offer,
          body.offer.callId,
          via,
          (session) => {
            ctx.links.bind(session, source);
            onSession(session);
          },
          (peer) => {
            if (peer === source) return admit(peer);
            ctx.counters.refuse('relay-wrong-offerer');
            return false;
          },
          AbortSignal.timeout(ctx.timeout),
        );
        answered(exchange.description);
        const exchanged = await exchange.opened;
        return { call: exchangedLink(exchanged, relay), peer: exchanged.peer };
      })
      .catch((error: unknown) =>
        // An offer that does not authenticate as the peer the relay named, or that admission refuses: 403.
        failed(
          SessionError.is(error, 'FORBIDDEN') || SessionError.is(error, 'UNAUTHENTICATED')
            ? new DhtError('FORBIDDEN', error.message, { cause: error })
            : error,
        ),
      );
    return encodeRelayConnectResponse(buildSdp(await answer));
  }

  #refuse(reason: string, code: 'FORBIDDEN' | 'NO_ROUTE' | 'STORE_FULL', message: string): never {
    this.#ctx.counters.refuse(reason);
    throw new DhtError(code, message);
  }
}
