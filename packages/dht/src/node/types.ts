import type { Zone } from '@xpp/can';

/**
 * The node's public types, in a module that imports none of the node's own: the table, the options and the
 * replicator all name them, and before they moved here neighbour-table → node-options → replicator → neighbour-table
 * formed an import cycle.
 */

/** Replication counters of a node (`stats.replication`). */
export interface ReplicationStats {
  /** Replica writes and zone copies under way. */
  readonly inFlight: number;
  readonly sent: number;
  readonly failed: number;
  /** Digest checks sent to holders (one per holder and zone, each refresh). */
  readonly checked: number;
  /** Checks a holder answered with a difference: the zone was sent to it again. */
  readonly differed: number;
  /** Writes acknowledged though some of their holders did not commit them (at least one did). */
  readonly degraded: number;
  /** Writes refused with 503 (`NOT_REPLICATED`): none of their holders committed them. */
  readonly unreplicated: number;
}

/** A neighbour as {@link OverlayNode.neighbours} lists it, with the figures of its XPP session when linked. */
export interface NeighbourSummary {
  readonly id: string;
  readonly zones: readonly Zone[];
  /** Its SIP URI: where a restarted node calls it again (OverlayNode.resume). */
  readonly uri: string;
  /** The version of its announcement this node holds. */
  readonly version: number;
  /** An open XPP session leads to it. */
  readonly linked: boolean;
  /** The common neighbour that forwards the datagrams of that session, when it is relayed (dht-nat.md). */
  readonly relay?: string;
  /** Smoothed round-trip time of that session, ms (after its first sample). */
  readonly srttMs?: number;
  /** Datagrams that session retransmitted so far. */
  readonly retransmits: number;
}

export type OverlayNodeState = 'candidate' | 'peer' | 'leaving' | 'closed';

export interface OverlayNodeStats {
  readonly state: OverlayNodeState;
  readonly zones: readonly string[];
  readonly volume: number;
  readonly neighbours: number;
  readonly records: number;
  /** Records held as the owner of their point, and as replicas for another owner. */
  readonly recordsByRole: { readonly primary: number; readonly replica: number };
  /** Operations handled here, by operation name and result (`ok` or the status code). */
  readonly operations: Readonly<Record<string, number>>;
  /** Requests this node started (put/get/remove), by operation name and result. */
  readonly requests: Readonly<Record<string, number>>;
  /** `hops[h]`: requests this node started that reached their owner in `h` hops (0 = this node). */
  readonly hops: readonly number[];
  /** Refused requests and INVITEs (403), and other counted drops, by reason. */
  readonly refused: Readonly<Record<string, number>>;
  readonly replication: ReplicationStats;
  readonly takeovers: { readonly pending: number; readonly won: number; readonly yielded: number };
  /** Calls to peers being placed or accepted. */
  readonly connecting: number;
  /** A re-announcement, re-replication and merge pass is scheduled or running. */
  readonly settling: boolean;
  /**
   * True when nothing is pending: every change has been re-announced and re-replicated, and no takeover, replica
   * write or call is in progress. The periodic refresh does not count as pending work.
   */
  readonly settled: boolean;
}
