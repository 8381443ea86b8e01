import type { SipUserAgent, TransportAddress, XppEndpoint } from '@xpp/session-sdp';
import type { Contact } from '../values.js';
import type { Link } from './neighbour-table.js';

/**
 * STUN timing toward a neighbour: it answers at once or not at all (it is a peer we hold a session with, not a
 * server across the Internet), so the discovery gives up within about a second instead of RFC 8489's 39.5 s.
 */
const STUN_TIMING = { rtoMs: 200, maxRequests: 3, lastWaitFactor: 2 } as const;

/**
 * Whether a contact says its peer is behind a NAT: it advertises a server-reflexive candidate (docs/decisions/
 * dht-nat.md). Such a peer's SIP URI is its private address, so its neighbours never call it; it calls them.
 */
export function behindNat(contact: Contact): boolean {
  return contact.candidates.some((c) => c.type === 'srflx');
}

/**
 * How a node learns where it appears from (docs/decisions/dht-nat.md): a STUN Binding request on its XPP socket to
 * a neighbour's XPP address (every endpoint answers them), once per node until one answers. The address found is
 * a server-reflexive candidate of the endpoint's descriptions and of the node's contact when it is not one of the
 * host addresses; `changed` is then called so that the node announces its new contact.
 */
export class ReflexiveDiscovery {
  readonly #endpoint: () => XppEndpoint;
  readonly #ua: () => SipUserAgent;
  readonly #changed: () => void;
  #done = false;
  #pending: Promise<void> | undefined;
  #sipAdvertised = false;

  constructor(init: { endpoint: () => XppEndpoint; ua: () => SipUserAgent; changed: () => void }) {
    this.#endpoint = init.endpoint;
    this.#ua = init.ua;
    this.#changed = init.changed;
  }

  /**
   * A link opened: asks its peer where this node's XPP socket appears from (see {@link learn}) and, for a call this
   * node placed from behind a NAT, puts the SIP address the callee saw (`received`/`rport`) in this node's Contact,
   * so that in-dialog requests come back through the NAT rather than to a private address.
   */
  linkOpened(call: Link): void {
    void this.learn(call.session.remote).then(() => {
      const seen = call.call?.reflexive;
      if (this.#sipAdvertised || seen === undefined || !this.behindNat) return;
      const ua = this.#ua();
      if (seen.address === ua.local.address && seen.port === ua.local.port) return;
      ua.advertise(seen);
      this.#sipAdvertised = true;
      this.#changed();
    });
  }

  /** Whether this node found itself behind a NAT (it has a server-reflexive address). */
  get behindNat(): boolean {
    return this.#endpoint().reflexiveAddresses.length > 0;
  }

  /** Asks `neighbour` (an XPP address we have a session with) unless an earlier answer came; never rejects. */
  learn(neighbour: TransportAddress | undefined): Promise<void> {
    if (this.#done || neighbour === undefined) return Promise.resolve();
    this.#pending ??= this.#ask(neighbour).finally(() => {
      this.#pending = undefined;
    });
    return this.#pending;
  }

  async #ask(neighbour: TransportAddress): Promise<void> {
    const endpoint = this.#endpoint();
    const before = endpoint.reflexiveAddresses.length;
    try {
      await endpoint.discoverReflexiveAddress(neighbour, STUN_TIMING);
      this.#done = true;
    } catch {
      // No answer (an old peer without a responder, or loss): the next link asks again.
      return;
    }
    if (endpoint.reflexiveAddresses.length > before) this.#changed();
  }
}
