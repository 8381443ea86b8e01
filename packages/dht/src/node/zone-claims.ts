import type { Zone } from '@xpp/can';
import { DhtError } from '../errors.js';
import type { NodeCounters } from './counters.js';

/**
 * Why a zone claim was refused (counted in `stats.refused`, surfaced by node-peer as
 * `xpp_overlay_refused_total{reason}`):
 * - `claim-not-sender`: the entry that claims zones is not the session's own peer;
 * - `claim-overlaps-own`: the peer claims zones this node owns (not a takeover race, not a zone being handed to it);
 * - `claim-foreign-zone`: a LEAVE, REPLICATE or TAKEOVER about zones the sender does not hold (or the dead peer did
 *   not hold), as this node knows them.
 */
export type ZoneClaimRefusal = 'claim-not-sender' | 'claim-overlaps-own' | 'claim-foreign-zone';

/** What the checks need of their node. */
export interface ZoneClaimsContext {
  readonly counters: NodeCounters;
  /** This node's zones. */
  zones(): readonly Zone[];
  /**
   * Zones two peers may both hold for a while without either lying: those of peers dead recently (two survivors
   * can race for them, docs/decisions/dht-double-ownership.md) and the zone this node is handing over right now.
   */
  contested(): readonly Zone[];
}

/**
 * The zone claims of spec xpp-pcan §5.6: a zone announcement, a LEAVE hand-over, a REPLICATE and a TAKEOVER claim
 * are believed only from the session of the peer they are about, and only for zones it may hold by the rules of
 * §3. What one peer can check is checked here; the rest (a claim on a neighbour's zone, say: it may have just
 * handed it over) is counted as `claim-unverified` and left to that neighbour, who checks it against its own.
 */
export class ZoneClaims {
  readonly #ctx: ZoneClaimsContext;

  constructor(ctx: ZoneClaimsContext) {
    this.#ctx = ctx;
  }

  /** The entry about `about` comes from the session of `sender`; throws `FORBIDDEN` otherwise. */
  sender(sender: string, about: string): void {
    if (about !== sender) this.#refuse('claim-not-sender', 'a peer may claim zones only for itself');
  }

  /**
   * `zones` may be held by a peer other than this node: none overlaps this node's own zones, except within a zone
   * whose double ownership is a known race (a recently dead peer's, the one being handed over). A claim of the
   * whole space by anyone but this node's predecessor thus fails here.
   */
  notOwn(zones: readonly Zone[]): void {
    const mine = this.#ctx.zones();
    const contested = this.#ctx.contested();
    for (const claimed of zones)
      for (const own of mine) {
        if (!own.overlaps(claimed)) continue;
        const shared = own.covers(claimed) ? claimed : own;
        if (!contested.some((z) => z.covers(shared)))
          this.#refuse('claim-overlaps-own', `zone ${claimed.path} overlaps this node's ${own.path}`);
      }
  }

  /** Every zone of `zones` lies within `held` (the sender's, or a dead peer's, as this node knows them). */
  within(zones: readonly Zone[], held: readonly Zone[], what: string): void {
    const foreign = zones.find((z) => !held.some((h) => h.covers(z)));
    if (foreign !== undefined)
      this.#refuse('claim-foreign-zone', `${what} names zone ${foreign.path}, which its peer does not hold`);
  }

  /** Whether every zone of `zones` lies within `held`. */
  holds(zones: readonly Zone[], held: readonly Zone[]): boolean {
    return zones.every((z) => held.some((h) => h.covers(z)));
  }

  /** Counts a claim nobody here can check (left to the peers it concerns). */
  unverified(): void {
    this.#ctx.counters.refuse('claim-unverified');
  }

  #refuse(reason: ZoneClaimRefusal, message: string): never {
    this.#ctx.counters.refuse(reason);
    throw new DhtError('FORBIDDEN', message);
  }
}
