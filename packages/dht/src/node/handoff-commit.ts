import type { Clock } from '@xpp/reliability';
import type { XppCall } from '@xpp/session-sdp';
import type { Message, XppOption } from '@xpp/wire';
import { DhtError } from '../errors.js';
import { DhtOperation } from '../operations.js';
import type { NodeCounters } from './counters.js';
import type { Links } from './links.js';
import type { Neighbour, NeighbourTable } from './neighbour-table.js';

/**
 * A sender whose LEAVE got no answer (a timeout, or its link ended first) asks the taker again for this many
 * request timeouts in all (docs/decisions/dht-handoff-confirm.md).
 */
export const CONFIRM_WINDOW = 2;

/** What committing a hand-off needs of its node. */
export interface HandoffCommitContext {
  readonly clock: Clock;
  /** The request timeout. */
  readonly timeout: number;
  readonly claimTimeout: number;
  readonly counters: NodeCounters;
  readonly table: NeighbourTable;
  readonly links: Pick<Links, 'request' | 'requestPeer'>;
  /** Calls a peer (its session served as the node's are). */
  place(uri: string, signal?: AbortSignal): Promise<XppCall>;
}

/**
 * Sends the LEAVE that commits a hand-off. The taker may have taken the zone and its answer be lost (its link
 * ended under the request — it pruned this node as no longer adjacent, say — or the answer came too late): the
 * LEAVE goes again, over the taker's link or a call of its own, until an answer or a refusal, for
 * CONFIRM_WINDOW request timeouts. Undefined when none came.
 */
export async function commitLeave(
  ctx: HandoffCommitContext,
  pause: (ms: number) => Promise<void>,
  taker: Neighbour,
  leave: readonly XppOption[],
): Promise<Message | undefined> {
  const { clock, timeout, counters } = ctx;
  let deadline = Infinity;
  for (let attempt = 0; ; attempt++) {
    try {
      if (attempt === 0) return await ctx.links.requestPeer(taker, DhtOperation.LEAVE.type, leave);
      return await askAgain(ctx, taker, leave, deadline - clock.now());
    } catch (error) {
      // A refusal is an answer: the taker did not take the zone (it answers a LEAVE it took with success).
      if (DhtError.is(error) && error.code === 'REMOTE_ERROR') throw error;
      counters.refuse(attempt === 0 ? 'handoff-unanswered' : 'handoff-asked-again');
      // The window starts when the first LEAVE is found unanswered, however long that took.
      if (attempt === 0) deadline = clock.now() + CONFIRM_WINDOW * timeout;
    }
    const left = deadline - clock.now();
    if (left <= 0) return undefined;
    await pause(Math.min(left, ctx.claimTimeout / 2));
  }
}

/** The LEAVE again, over the taker's current link, or a call placed for it when the taker is not linked. */
async function askAgain(
  ctx: HandoffCommitContext,
  taker: Neighbour,
  leave: readonly XppOption[],
  within: number,
): Promise<Message> {
  const current = ctx.table.get(taker.id);
  if (current?.link?.session.isOpen === true)
    return ctx.links.requestPeer(current, DhtOperation.LEAVE.type, leave, within);
  const abort = new AbortController();
  const timer = ctx.clock.setTimer(() => abort.abort(), within);
  try {
    const call = await ctx.place(taker.contact.uri, abort.signal);
    try {
      if (call.peer !== undefined && call.peer !== taker.id)
        throw new DhtError('NO_ROUTE', `the peer at ${taker.contact.uri} is not ${taker.id} any more`);
      return await ctx.links.request(call, DhtOperation.LEAVE.type, leave, within);
    } finally {
      void call.hangUp().catch(() => undefined);
    }
  } finally {
    ctx.clock.clearTimer(timer);
  }
}
