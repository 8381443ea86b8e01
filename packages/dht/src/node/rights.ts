import type { Message } from '@xpp/wire';
import { DhtError } from '../errors.js';
import type { NodeCounters } from './counters.js';

/** Who may send an operation: anyone with a session, a neighbour, or a neighbour or a caller it admits by it. */
export type Access = 'open' | 'neighbour' | 'announcer';

/**
 * The check made before every handler the dispatcher runs. Rules that depend on a message's own claims (a LEAVE
 * lists its sender first, say) stay in the handlers.
 */
export interface Rights {
  /** The sender, when it may use a neighbour-only operation; throws `FORBIDDEN` otherwise. */
  neighbour(from: string | undefined): string;
  /** The sender of a NEIGHBOUR-UPDATE: a neighbour, or a caller not listed yet whose own entry admits it. */
  announcer(from: string | undefined, request: Message): string;
}

/** What today's rules need of the node. */
export interface RightsContext {
  readonly counters: NodeCounters;
  isNeighbour(id: string): boolean;
  /** The caller not listed yet that the update's own first entry makes a neighbour, if it is one. */
  admit(from: string | undefined, request: Message): string | undefined;
}

/**
 * The rules of spec xpp-pcan §5.6: storage and overlay operations need a neighbour's session; a NEIGHBOUR-UPDATE
 * may also come from an admitted caller not listed yet; JOIN checks its own session (only the inviter's). Zone
 * claims are checked by the handlers (ZoneClaims).
 */
export class NeighbourRights implements Rights {
  readonly #ctx: RightsContext;

  constructor(ctx: RightsContext) {
    this.#ctx = ctx;
  }

  neighbour(from: string | undefined): string {
    if (from === undefined || !this.#ctx.isNeighbour(from)) {
      this.#ctx.counters.refuse('not-a-neighbour');
      throw new DhtError('FORBIDDEN', 'only neighbours may send this');
    }
    return from;
  }

  announcer(from: string | undefined, request: Message): string {
    return this.#ctx.admit(from, request) ?? this.neighbour(from);
  }
}
