import type { Zone } from '@xpp/can';
import type { Clock } from '@xpp/reliability';
import { remember, Tombstones, type Neighbour, type PeerView } from './neighbour-table.js';
import type { DeadPeer } from './takeover.js';
import { UnreachablePeers } from './unreachable-peers.js';

/** The bounds of what a node remembers of peers it no longer has as neighbours. */
export interface PeerMemoryBounds {
  readonly maxTombstones: number;
  readonly maxDeadPeers: number;
  /** How long a peer that never answered stays out of relayed lists, ms (the refresh interval). */
  readonly unreachableFor: number;
}

/**
 * What a node remembers of peers that are not (or no longer) its neighbours, so that the rules "may this entry
 * come back?" live in one place: peers gone (left or dead), peers that moved away, peers that never answered,
 * dead neighbours with their lists, and which overlapping pairs were introduced when.
 */
export class PeerMemory {
  /** Peers that left or died, with their last version: a relayed older entry cannot bring them back. */
  readonly gone: Tombstones;
  /**
   * Peers dropped as no longer adjacent, with the version that showed it: a neighbour that has not heard of their
   * move yet may still relay an older version, which must not bring them back (and set off a call they refuse).
   */
  readonly movedAway: Tombstones;
  readonly unreachable: UnreachablePeers;
  /** Dead neighbours (with their neighbour lists) while their zones are taken over. */
  readonly deadPeers = new Map<string, DeadPeer>();
  /** Pairs of neighbours told of each other's overlapping zones, and when (at most once a refresh interval). */
  readonly #introduced = new Map<string, number>();
  readonly #bounds: PeerMemoryBounds;

  constructor(clock: Clock, bounds: PeerMemoryBounds) {
    this.#bounds = bounds;
    this.gone = new Tombstones(bounds.maxTombstones);
    this.movedAway = new Tombstones(bounds.maxTombstones);
    this.unreachable = new UnreachablePeers(clock, bounds.unreachableFor, bounds.maxTombstones);
  }

  /** Whether a peer a dead neighbour listed must not be added from that list (gone, unreachable, moved away). */
  blocksRelayed(p: PeerView): boolean {
    return (
      this.gone.buries(p.id, p.version) ||
      this.unreachable.has(p.id) ||
      this.movedAway.buries(p.id, p.version)
    );
  }

  /** Remembers `dead` as gone (its version buried) and with its list, while its zones are taken over. */
  markDead(dead: DeadPeer): void {
    this.gone.bury(dead.id, dead.version);
    remember(this.deadPeers, dead.id, dead, this.#bounds.maxDeadPeers);
  }

  /** The zones of the peers that died at `since` or later. */
  deadZonesSince(since: number): Zone[] {
    return [...this.deadPeers.values()].filter((d) => d.diedAt >= since).flatMap((d) => d.zones);
  }

  /** A peer that one of `neighbours` (or a dead neighbour) lists as its own neighbour, unless gone or moved away. */
  secondDegree(id: string, neighbours: Iterable<Neighbour>): PeerView | undefined {
    for (const source of [...neighbours, ...this.deadPeers.values()]) {
      const view = source.peers.find((p) => p.id === id);
      if (view === undefined || this.gone.buries(view.id, view.version)) continue;
      if (!this.movedAway.buries(view.id, view.version)) return view;
    }
    return undefined;
  }

  /** Whether the pair `a`/`b` is due an introduction at `now` (once per `interval`); remembers it when so. */
  introduce(a: string, b: string, now: number, interval: number): boolean {
    const pair = a < b ? `${a}/${b}` : `${b}/${a}`;
    if ((this.#introduced.get(pair) ?? -Infinity) > now - interval) return false;
    remember(this.#introduced, pair, now, this.#bounds.maxTombstones);
    return true;
  }
}
