import type { Clock } from '@xpp/reliability';
import { ReliabilityError } from '@xpp/reliability';
import type { XppSession } from '@xpp/session-sdp';
import type { Message, XppOption } from '@xpp/wire';
import { DhtError } from '../errors.js';
import { DhtOperation } from '../operations.js';
import type { NodeCounters } from './counters.js';
import { awaitLink, type Link, type Neighbour } from './neighbour-table.js';
import { UNREACHABLE_AFTER_CALLS } from './node-options.js';
import { behindNat } from './reflexive.js';
import type { SettleTrigger } from './parts.js';
import type { OverlayNodeState } from './types.js';

/** How calls are placed (SIP INVITE and the XPP session it sets up); admission accepts them. */
export interface Dialer {
  place(uri: string, onSession: (session: XppSession) => void, signal?: AbortSignal): Promise<Link>;
  /**
   * Sets up a session to `n`, behind a NAT as this node is, through a common neighbour that carries the offer and
   * answer and, when no direct path opens, the datagrams (RELAY-CONNECT, docs/decisions/dht-nat.md part 4).
   */
  viaRelay(n: Neighbour, onSession: (session: XppSession) => void): Promise<Link>;
}

/** What the links need of their node. */
export interface LinksContext extends SettleTrigger {
  readonly selfId: string;
  readonly clock: Clock;
  readonly dialer: Dialer;
  readonly counters: NodeCounters;
  /** Deadline of one request, ms. */
  readonly timeout: number;
  readonly claimTimeout: number;
  state(): OverlayNodeState;
  /** Whether `n` is still the table's entry of its peer. */
  isCurrent(n: Neighbour): boolean;
  /** Registers the overlay's handlers on a new session. */
  serve(session: XppSession): void;
  /** The link to `n` ended with an error (keepalives unanswered, delivery gave up). */
  linkDied(n: Neighbour): void;
  /** A first link to `n` opened. */
  linkUp(n: Neighbour): void;
  /** `n` could not be called often enough: forget it and do not take it from relayed lists for a while. */
  unreachable(n: Neighbour): void;
  /** This node's own entry, as a PARTIAL update (what a peer that refused our last call learns us from). */
  hello(): readonly XppOption[];
  /** Whether this node is behind a NAT (it calls every neighbour itself; docs/decisions/dht-nat.md). */
  behindNat(): boolean;
  /** A link was attached (placed or accepted): where this node learns its server-reflexive address. */
  linkOpened(call: Link): void;
}

/**
 * The sessions to this node's neighbours: placing and accepting calls, the rule that keeps one link when two
 * calls cross, requests over the current link (again on the link that replaced it), calling whoever is left
 * without a link, and marking peers that never answer. Writes only the link fields of a `Neighbour`.
 */
export class Links {
  readonly #ctx: LinksContext;
  /** The neighbour each session leads to, once known (handlers are registered before that). */
  readonly #sessionPeers = new WeakMap<XppSession, string>();
  #connecting = 0;
  /** Neighbours whose link is being probed (see probe). */
  readonly #probing = new Set<string>();

  constructor(ctx: LinksContext) {
    this.#ctx = ctx;
  }

  /** Calls being placed or accepted. */
  get connecting(): number {
    return this.#connecting;
  }

  bind(session: XppSession, id: string): void {
    this.#sessionPeers.set(session, id);
  }

  peerOf(session: XppSession): string | undefined {
    return this.#sessionPeers.get(session);
  }

  /** One request over `link`; a refusal is `REMOTE_ERROR` with its status, anything else `NO_ROUTE`. */
  async request(
    link: Link,
    type: number,
    options: readonly XppOption[],
    timeout = this.#ctx.timeout,
  ): Promise<Message> {
    try {
      return await link.session.request(type, options, { timeout });
    } catch (error) {
      if (ReliabilityError.is(error) && error.code === 'ERROR_RESPONSE') {
        throw new DhtError('REMOTE_ERROR', error.message, { cause: error, status: error.status ?? 500 });
      }
      throw new DhtError('NO_ROUTE', `request to a neighbour failed: ${(error as Error).message}`, {
        cause: error,
      });
    }
  }

  /**
   * A request to neighbour `n` over its current link. When that link ends under the request — two calls crossed
   * and the other one was kept, say — the request goes again on the link that replaced it (at most twice more).
   */
  async requestPeer(
    n: Neighbour,
    type: number,
    options: readonly XppOption[],
    timeout = this.#ctx.timeout,
  ): Promise<Message> {
    for (let attempt = 0; ; attempt++) {
      const link = await awaitLink(n, this.#ctx.clock, timeout);
      try {
        return await this.request(link, type, options, timeout);
      } catch (error) {
        // Replaced: another link took its place (a crossed call: the one hung up may still report open while its
        // operations are closed already), or it is closed. A link that ended with none after it is not waited for.
        const replaced =
          this.#ctx.isCurrent(n) && ((n.link !== undefined && n.link !== link) || !link.session.isOpen);
        if (attempt >= 2 || !replaced || (DhtError.is(error) && error.code === 'REMOTE_ERROR')) throw error;
      }
    }
  }

  /**
   * Makes `call` the link to neighbour `n` (its session is already served) and wakes who waits for it. When both
   * sides called each other at once, both keep the call placed by the lower id.
   */
  attach(n: Neighbour, call: Link, placedHere: boolean): void {
    if (this.#ctx.state() === 'closed' || !this.#ctx.isCurrent(n)) {
      void call.hangUp().catch(() => undefined);
      return;
    }
    const current = n.link;
    if (current !== undefined && current !== call && current.session.isOpen) {
      const lowerPlacedThis = placedHere ? this.#ctx.selfId < n.id : n.id < this.#ctx.selfId;
      if (!lowerPlacedThis) {
        void call.hangUp().catch(() => undefined);
        return;
      }
      n.link = call;
      void current.hangUp().catch(() => undefined);
    } else n.link = call;
    n.failedCalls = 0;
    this.#sessionPeers.set(call.session, n.id);
    call.session.on('close', (error) => {
      if (n.link !== call) return;
      n.link = undefined;
      n.linklessSince = this.#ctx.clock.now();
      if (error !== undefined) this.#ctx.linkDied(n);
    });
    for (const wake of n.waiters.splice(0)) wake(call);
    this.#ctx.linkOpened(call);
    if (current === undefined) this.#ctx.linkUp(n);
  }

  /**
   * Neighbour `n`, linked already, calls again (the call is refused): it may have restarted, its end of the link
   * gone with it (docs/decisions/node-peer-rejoin.md). The link is asked once (a hello), within a claim timeout;
   * when it does not answer it is hung up cleanly — no death, the peer is calling — so that its next call is taken.
   */
  probe(n: Neighbour): void {
    const link = n.link;
    if (link === undefined || this.#probing.has(n.id)) return;
    this.#probing.add(n.id);
    void this.request(link, DhtOperation.NEIGHBOUR_UPDATE.type, this.#ctx.hello(), this.#ctx.claimTimeout)
      .then(
        () => undefined,
        () => {
          if (n.link !== link) return;
          this.detach(n);
          n.linklessSince = this.#ctx.clock.now();
          this.#ctx.counters.refuse('stale-link');
          void link.hangUp().catch(() => undefined);
        },
      )
      .finally(() => this.#probing.delete(n.id));
  }

  /** Takes the link away from `n` (it is being dropped); the caller ends it. */
  detach(n: Neighbour): Link | undefined {
    const link = n.link;
    n.link = undefined;
    return link;
  }

  /** Counts `accepting` among the calls being set up until it settles. */
  track(accepting: Promise<unknown>): void {
    this.#connecting++;
    void accepting.finally(() => this.#connecting--);
  }

  /**
   * Whether this node may call `n`: not when `n` is behind a NAT and this node is not — its SIP URI is a private
   * address, and it calls this node itself (docs/decisions/dht-nat.md). Of two peers behind NATs the lower id sets
   * the session up, through a common neighbour ({@link Dialer.viaRelay}): one allocation, no crossing calls.
   */
  callable(n: Neighbour): boolean {
    if (!behindNat(n.contact)) return true;
    return this.#ctx.behindNat() && this.#ctx.selfId < n.id;
  }

  /** Calls `n` (once at a time); nothing when {@link callable} says `n` calls in. */
  connect(n: Neighbour, signal: AbortSignal = AbortSignal.timeout(this.#ctx.timeout)): Promise<void> {
    if (n.connecting !== undefined) return n.connecting;
    if (!this.callable(n)) return Promise.resolve();
    this.#connecting++;
    const attempt = (async () => {
      try {
        const onSession = (session: XppSession): void => {
          this.#sessionPeers.set(session, n.id);
          this.#ctx.serve(session);
        };
        // Behind NATs both: neither SIP URI can be reached from the other side; a common neighbour carries the setup.
        const call = behindNat(n.contact)
          ? await this.#ctx.dialer.viaRelay(n, onSession)
          : await this.#ctx.dialer.place(n.contact.uri, onSession, signal);
        // The SIP URI dialled names nobody: the callee is who its certificate says (with membership).
        if (call.peer !== undefined && call.peer !== n.id) {
          void call.hangUp().catch(() => undefined);
          this.#ctx.counters.refuse('claim-not-sender');
          throw new DhtError('FORBIDDEN', `the peer at ${n.contact.uri} is ${call.peer}, not ${n.id}`);
        }
        this.attach(n, call, true);
        // The callee may not know this node yet (it learns neighbours from others' lists, which can lag): it takes
        // the call, and this node's own entry makes it a neighbour (admission, dht-admission.md).
        if (n.link === call) {
          const hello = this.#ctx.hello();
          void this.requestPeer(n, DhtOperation.NEIGHBOUR_UPDATE.type, hello).catch(() => undefined);
        }
      } catch {
        this.#ctx.counters.refuse('connect-failed');
        this.#unreachableAfterFailure(n);
        // Call again soon (a settle pass calls who is missing) rather than at the next refresh: the peer may not
        // have known this node a moment ago, or it is dead and must be found out within a request timeout.
        if (this.#ctx.isCurrent(n)) this.#ctx.requestSettle(this.#ctx.claimTimeout);
      } finally {
        n.connecting = undefined;
        this.#connecting--;
      }
    })();
    n.connecting = attempt;
    return attempt;
  }

  /**
   * Calls neighbours left without a link (a crossed call lost, a session ended cleanly): the lower id at once,
   * the other side once the link has been missing for a claim timeout; a node behind a NAT at once (nobody else
   * can call it).
   */
  connectMissing(neighbours: Iterable<Neighbour>): void {
    const late = this.#ctx.clock.now() - this.#ctx.claimTimeout;
    const first = this.#ctx.behindNat();
    for (const n of neighbours) {
      if (n.link !== undefined || n.connecting !== undefined) continue;
      if (first || this.#ctx.selfId < n.id || n.linklessSince < late) void this.connect(n);
    }
  }

  /**
   * A peer this node failed to call 3 times in a row, without a link for a request timeout, is dropped and not
   * taken from relayed lists for a refresh interval: it may be dead without this node ever having had a session
   * to notice it. It can still call in.
   */
  #unreachableAfterFailure(n: Neighbour): void {
    const now = this.#ctx.clock.now();
    n.failedCalls++;
    if (n.link !== undefined || !this.#ctx.isCurrent(n)) return;
    if (n.failedCalls < UNREACHABLE_AFTER_CALLS || now - n.linklessSince < this.#ctx.timeout) return;
    this.#ctx.unreachable(n);
  }
}
