import type { Clock } from '@xpp/reliability';
import { DhtError } from '../errors.js';
import type { AdminKeySet } from '../membership/admin-key-set.js';
import { decodeRevocation, verifyRevocation } from '../membership/revocation.js';
import { peerIdHex, remember, type Neighbour } from './neighbour-table.js';

/** What the revocation checks need of their node. */
export interface RevocationsContext {
  readonly clock: Clock;
  readonly admins: AdminKeySet;
  /** How long a lookup may take before the session it guards is refused, ms. */
  readonly wait: number;
  /** Revoked peers remembered, and peers found not revoked (oldest forgotten first; looked up again then). */
  readonly max: number;
  /**
   * How long a peer found not revoked is taken as such without a new lookup, ms: the refresh interval, at which
   * every neighbour is looked up again anyway.
   */
  readonly fresh: number;
  /** The values stored in the overlay under `revoked:<id>` (GET). */
  lookup(id: string): Promise<readonly Uint8Array[]>;
  /** Nobody to ask: this node is no peer yet, or has no neighbour (it founded the overlay a moment ago). */
  alone(): boolean;
  /** A lookup started at a session's setup found `id` revoked after the session opened: end its sessions. */
  revoked(id: string): void;
}

/**
 * Revocation (spec xpp-pcan §5.3): whether a peer is revoked, from a bounded local set filled by GETs of
 * `revoked:<id>` — at session setup (`isRevoked`, the authenticator's hook) and for every neighbour at each refresh
 * (`recheck`). At setup a peer known revoked is refused at once; for one not looked up within the last refresh
 * interval a lookup starts and the session goes on: the GET may have to travel over the very session being set up
 * (the peer is a neighbour), so waiting for it would deadlock. A revocation found then ends the peer's sessions
 * (`revoked`), as one found at a refresh does. A lookup that fails or takes longer than `wait` is retried at the
 * next refresh. Only admin-signed revocations of that very peer count.
 */
export class Revocations {
  readonly #ctx: RevocationsContext;
  readonly #revoked = new Map<string, true>();
  /** Peers found not revoked, with when (clock `now`). */
  readonly #clean = new Map<string, number>();

  constructor(ctx: RevocationsContext) {
    this.#ctx = ctx;
  }

  /** Peers known revoked here. */
  get size(): number {
    return this.#revoked.size;
  }

  isRevoked(id: string): boolean {
    if (this.#revoked.has(id)) return true;
    const checked = this.#clean.get(id);
    if (checked !== undefined && this.#ctx.clock.now() - checked < this.#ctx.fresh) return false;
    if (!this.#ctx.alone())
      void this.#fetch(id).then(
        (revoked) => revoked && this.#ctx.revoked(id),
        () => undefined,
      );
    return false;
  }

  /** The neighbours among `neighbours` revoked now (looked up again; a failed lookup keeps the link). */
  async recheck(neighbours: readonly Neighbour[]): Promise<Neighbour[]> {
    const found = await Promise.all(
      neighbours.map((n) =>
        this.#fetch(n.id).then(
          (revoked) => (revoked ? [n] : []),
          () => [],
        ),
      ),
    );
    return found.flat();
  }

  async #fetch(id: string): Promise<boolean> {
    const { clock, wait } = this.#ctx;
    let timer: ReturnType<Clock['setTimer']> | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = clock.setTimer(
        () => reject(new DhtError('NO_ROUTE', `no answer on the revocation of ${id} within ${wait} ms`)),
        wait,
      );
    });
    try {
      const values = await Promise.race([this.#ctx.lookup(id), deadline]);
      for (const value of values) if (this.#holds(id, value)) return true;
      remember(this.#clean, id, clock.now(), this.#ctx.max);
      return false;
    } finally {
      if (timer !== undefined) clock.clearTimer(timer);
    }
  }

  /** Whether `value` is an admin-signed revocation of `id` (remembered when it is). */
  #holds(id: string, value: Uint8Array): boolean {
    try {
      const revocation = decodeRevocation(value);
      verifyRevocation(revocation, this.#ctx.admins);
      if (peerIdHex(revocation.peerId) !== id) return false;
    } catch {
      return false;
    }
    remember(this.#revoked, id, true, this.#ctx.max);
    this.#clean.delete(id);
    return true;
  }
}
