import type { Zone } from '@xpp/can';

/** Why this node's zones changed. */
export type ZoneChangeCause =
  'bootstrap' | 'resume' | 'join' | 'invite' | 'leave' | 'handoff' | 'takeover' | 'merge' | 'repair';

/** Why a neighbour left this node's table. */
export type NeighbourDownReason = 'dead' | 'left' | 'pruned' | 'unreachable';

export interface NeighbourEvent {
  readonly id: string;
  readonly zones: readonly Zone[];
}

export interface ZoneChangeEvent {
  readonly zones: readonly Zone[];
  readonly previous: readonly Zone[];
  readonly cause: ZoneChangeCause;
}

export interface TakeoverEvent {
  /** The dead peer whose zone this node took. */
  readonly deadPeer: string;
  readonly zone: Zone;
  /** Replicas of the dead zone promoted to primary records here. */
  readonly promoted: number;
}

export interface LeaveEvent {
  /** The peer that handed its zone over (this node when it leaves). */
  readonly peer: string;
  /** The peer that took it. */
  readonly taker: string;
  readonly zones: readonly Zone[];
  /** True when the peer left the overlay; false when it handed back one of several zones (background merge). */
  readonly departed: boolean;
}

export interface ReplicatedEvent {
  /** The replica holder brought up to date. */
  readonly to: string;
  readonly zone: Zone;
  readonly records: number;
}

/**
 * The events of an `OverlayNode`. Listeners run synchronously inside the node's handlers and must not throw.
 */
export interface OverlayNodeEvents {
  /** A session to a neighbour opened. */
  'neighbour-up': (event: NeighbourEvent) => void;
  /** A neighbour left the table. */
  'neighbour-down': (event: NeighbourEvent & { readonly reason: NeighbourDownReason }) => void;
  /** This node's zones changed. */
  'zone-change': (event: ZoneChangeEvent) => void;
  /** This node took over the zone of a dead neighbour. */
  takeover: (event: TakeoverEvent) => void;
  /** A zone was handed over by LEAVE: emitted by the peer that hands it and by the one that takes it. */
  leave: (event: LeaveEvent) => void;
  /** A replica holder received the records of one of this node's zones (a full re-replication). */
  replicated: (event: ReplicatedEvent) => void;
}
