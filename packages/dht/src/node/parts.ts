import type { Zone } from '@xpp/can';
import type { Message, XppOption } from '@xpp/wire';
import type { Neighbour } from './neighbour-table.js';
import type { OverlayNodeState } from './types.js';

/** A request to neighbour `n` over its current link (retried on a link that replaced it). */
export type PeerRequest = (
  n: Neighbour,
  type: number,
  options: readonly XppOption[],
  timeout?: number,
) => Promise<Message>;

/** What most parts read of their node: where it stands and what it owns now. */
export interface NodeView {
  state(): OverlayNodeState;
  zones(): readonly Zone[];
}

/** How a part asks for a settle pass (see Settler). */
export interface SettleTrigger {
  requestSettle(delay?: number, routine?: boolean): void;
}

/** Whether `state` is one in which this node serves requests for the zones it owns. */
export function serving(state: OverlayNodeState): boolean {
  return state === 'peer' || state === 'leaving';
}
