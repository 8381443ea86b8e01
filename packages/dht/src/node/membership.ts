import type { Zone } from '@xpp/can';
import type { Clock } from '@xpp/reliability';
import type { Message, XppOption } from '@xpp/wire';
import { decodeNeighbourUpdate } from '../messages.js';
import { DhtOperation } from '../operations.js';
import type { NeighbourInfo } from '../values.js';
import type { Announcer } from './announcer.js';
import type { NodeCounters } from './counters.js';
import type { NeighbourDownReason } from './events.js';
import type { Links } from './links.js';
import {
  adjacent,
  notePeer,
  peerIdHex,
  viewInterner,
  type Neighbour,
  type NeighbourTable,
  type PeerView,
} from './neighbour-table.js';
import type { SettleTrigger } from './parts.js';
import type { PeerEntry, PeerInfoCodec } from './peer-info.js';
import type { PeerListDelta } from './peer-list-delta.js';
import type { PeerMemory } from './peer-memory.js';
import type { ZoneClaims } from './zone-claims.js';
import { overlapping } from './zones.js';

/** Who heard a change already (the sender of an announcement and the peers it lists): they are not told again. */
export type Told = ReadonlySet<string> | undefined;

/** What membership needs of its node. */
export interface MembershipContext extends SettleTrigger {
  readonly selfId: string;
  readonly clock: Clock;
  readonly table: NeighbourTable;
  readonly delta: PeerListDelta;
  readonly memory: PeerMemory;
  readonly peerInfo: PeerInfoCodec;
  readonly counters: NodeCounters;
  readonly maxNeighbours: number;
  readonly refreshInterval: number;
  readonly claimTimeout: number;
  readonly links: Pick<Links, 'connect' | 'detach' | 'request' | 'requestPeer'>;
  readonly announcer: Pick<Announcer, 'partialUpdate'>;
  readonly claims: Pick<ZoneClaims, 'sender' | 'notOwn' | 'unverified'>;
  zones(): readonly Zone[];
  /** A takeover is undecided here: peers met for it stay. */
  coordinating(): boolean;
  /** A neighbour's own entry shows zones overlapping this node's. */
  repairOverlap(n: Neighbour): void;
  /** Announcements may have settled pending takeovers. */
  resolveTakeovers(): void;
  /** `n` left the table (after the delta and settle): the node's own follow-ups. */
  forgotten(n: Neighbour, reason: NeighbourDownReason): void;
}

/**
 * The neighbour table kept current: announcements (NEIGHBOUR-UPDATE) applied entry by entry, peers added,
 * updated, pruned when no longer adjacent and forgotten when gone, overlapping neighbours introduced to each
 * other, and the announced fields of each entry. Links own the entries' link fields: membership takes a link away
 * only through `links.detach`.
 */
export class Membership {
  readonly #ctx: MembershipContext;

  constructor(ctx: MembershipContext) {
    this.#ctx = ctx;
  }

  /** Whether `n` is still the table's entry of its peer (an entry replaced or removed is not). */
  isCurrent(n: Neighbour): boolean {
    return this.#ctx.table.get(n.id) === n;
  }

  async onNeighbourUpdate(from: string, request: Message): Promise<readonly XppOption[]> {
    const { table, peerInfo } = this.#ctx;
    const update = decodeNeighbourUpdate(request.options);
    try {
      this.checkAnnouncement(from, update.neighbours[0]);
    } catch (error) {
      this.#answerOverlap(from, update.neighbours[0]);
      throw error;
    }
    const before = table.changes;
    const sender = table.get(from);
    // Each entry decoded once, and held once however many neighbours list it.
    const intern = viewInterner(table.values());
    const views = update.neighbours.map((info) => intern(peerInfo.view(info)));
    // A full list replaces the sender's previous one; a partial one is merged as each entry is learned (learn).
    if (sender !== undefined && update.partial !== true) {
      sender.peers = views.filter((view) => view.id !== from).slice(0, this.#ctx.maxNeighbours);
    }
    const connects: Promise<void>[] = [];
    // What a full list changes here, its sender told every peer on it: those need not hear it from this node.
    const told = new Set(update.partial === true ? [from] : [from, ...views.map((view) => view.id)]);
    for (const view of views) {
      const n = this.#learnView(view, from, told);
      if (n !== undefined) connects.push(this.#ctx.links.connect(n));
    }
    // The sender's own entry is the one authority on its zones: a double ownership is repaired on it alone.
    const first = update.neighbours[0];
    const announced = table.get(from);
    if (announced !== undefined && first !== undefined && peerIdHex(first.peerId) === from)
      if (announced.version === first.version) this.#ctx.repairOverlap(announced);
    this.#ctx.resolveTakeovers();
    if (table.changes !== before) this.#ctx.requestSettle();
    await Promise.allSettled(connects);
    return [];
  }

  /**
   * A refused claim on this node's zones by a peer with a higher id (a restarted peer whose zone this node took
   * over): that peer repairs the double ownership on this node's own announcement (the lower id keeps), which it
   * may never hear otherwise, so it is told at once (node-peer-rejoin.md).
   */
  #answerOverlap(from: string, first: NeighbourInfo | undefined): void {
    const n = this.#ctx.table.get(from);
    if (first === undefined || n?.link === undefined || !(this.#ctx.selfId < from)) return;
    if (!overlapping(this.#ctx.peerInfo.decodeZones(first.zones), this.#ctx.zones())) return;
    this.#ctx.links
      .requestPeer(n, DhtOperation.NEIGHBOUR_UPDATE.type, this.#ctx.announcer.partialUpdate())
      .catch(() => undefined);
  }

  /**
   * An announcement lists its sender first, and what the sender claims for itself (spec §5.6) may not be this
   * node's; a claim on a zone a neighbour holds is left to that neighbour to refuse (counted as unverified).
   * Throws `FORBIDDEN` (counted by reason) otherwise.
   */
  checkAnnouncement(from: string, first: NeighbourInfo | undefined): void {
    const claims = this.#ctx.claims;
    claims.sender(from, first === undefined ? '' : peerIdHex(first.peerId));
    const zones = this.#ctx.peerInfo.decodeZones((first as NeighbourInfo).zones);
    claims.notOwn(zones);
    for (const n of this.#ctx.table.values())
      if (n.id !== from && overlapping(zones, n.zones)) return claims.unverified();
  }

  /**
   * Applies one announced peer to the table: a peer that owns nothing is gone; one no longer adjacent is dropped;
   * an adjacent one is added or updated. Returns a new neighbour this node should call.
   */
  learn(info: NeighbourInfo, from: string | undefined, told?: Told): Neighbour | undefined {
    return this.#learnView(this.#ctx.peerInfo.view(info), from, told);
  }

  #learnView(view: PeerView, from: string | undefined, told?: Told): Neighbour | undefined {
    const { table, memory } = this.#ctx;
    const known = table.get(view.id);
    if (view.id === this.#ctx.selfId) return undefined;
    if (memory.gone.buries(view.id, view.version)) {
      // Only the peer itself, over a live session, is believed when it says it is still here.
      if (view.id !== from || view.zones.length === 0) return undefined;
      memory.gone.unbury(view.id);
    }
    notePeer(table.values(), view, this.#ctx.maxNeighbours);
    if (known === undefined && memory.movedAway.buries(view.id, view.version)) return undefined;
    if (known === undefined && view.id !== from && memory.unreachable.has(view.id)) return undefined;
    if (view.zones.length === 0) {
      // A relayed death does not override a live link: the peer would have said so itself.
      if (known !== undefined && view.id !== from && known.link?.session.isOpen === true) return undefined;
      memory.gone.bury(view.id, view.version);
      if (known !== undefined && known.version <= view.version) this.drop(known, 'left', told);
      return undefined;
    }
    if (!this.touches(view.zones)) {
      if (known === undefined || (view.id !== from && known.version > view.version)) return undefined;
      // Peers met to coordinate a takeover stay until it is decided (see pruneNonAdjacent).
      if (this.#ctx.coordinating()) this.upsert(view, told);
      else this.drop(known, 'pruned', told);
      return undefined;
    }
    const n = this.upsert(view, told);
    if (n !== undefined && n.version === view.version) this.#introduceOverlapping(n);
    return n !== undefined && n.link === undefined && n.connecting === undefined && view.id !== from
      ? n
      : undefined;
  }

  /** Whether `zones` abut this node's, or overlap them (a double owner, kept until the overlap is repaired). */
  touches(zones: readonly Zone[]): boolean {
    const mine = this.#ctx.zones();
    return adjacent(zones, mine) || overlapping(zones, mine);
  }

  /** Adds a peer a dead neighbour listed, when it is adjacent to this node now, and calls it. */
  learnView(p: PeerView): void {
    if (p.id === this.#ctx.selfId || this.#ctx.memory.blocksRelayed(p)) return;
    if (!adjacent(p.zones, this.#ctx.zones())) return;
    const n = this.#ctx.table.get(p.id) ?? this.upsert(p);
    if (n !== undefined && n.link === undefined) void this.#ctx.links.connect(n);
  }

  /**
   * Drops the peers that are no neighbours any more. Each first hears this node's zones, so that it drops this
   * node too rather than call it again on what it knew before, and the neighbours of this node that abut it: when
   * this node handed a zone back, the peer now owning it is one of them, and nobody else would tell.
   */
  pruneNonAdjacent(): void {
    if (this.#ctx.coordinating()) return;
    const { table, links } = this.#ctx;
    for (const n of [...table.values()]) {
      if (this.touches(n.zones)) continue;
      const abutting = table.adjacentTo(n.zones).filter((m) => m !== n);
      const notice = this.#ctx.announcer.partialUpdate(abutting);
      const link = links.detach(n);
      this.forget(n, 'pruned');
      if (link === undefined) continue;
      void links
        .request(link, DhtOperation.NEIGHBOUR_UPDATE.type, notice, this.#ctx.claimTimeout)
        .catch(() => undefined)
        .finally(() => void link.hangUp().catch(() => undefined));
    }
  }

  upsert(info: PeerEntry, told?: Told): Neighbour | undefined {
    const { table, delta } = this.#ctx;
    const before = table.changes;
    const isNew = table.get(peerIdHex(info.peerId)) === undefined;
    const n = table.upsert(info, this.#ctx.clock.now());
    if (n !== undefined && table.changes !== before) {
      delta.changed(n.id, told);
      if (isNew) delta.welcome(n.id);
      this.#ctx.requestSettle();
    }
    return n;
  }

  /** Removes `n` from the table (its link, if any, is left to whoever ends it). */
  forget(n: Neighbour, reason: NeighbourDownReason, told?: Told): void {
    if (!this.isCurrent(n)) return;
    const { table, delta, peerInfo } = this.#ctx;
    table.delete(n.id);
    // The others hear that it left this node's list: with its new zones when it moved away, as owning nothing when
    // it left or died — so that a taker does not call a dead peer from a stale list. A receiver with a live link
    // to it does not believe a relayed death (learn).
    if (reason === 'pruned') {
      delta.changed(n.id, told, peerInfo.encode(n));
      this.#ctx.memory.movedAway.bury(n.id, n.version);
    } else delta.changed(n.id, told, { ...peerInfo.encode(n), zones: [] });
    this.#ctx.requestSettle();
    this.#ctx.forgotten(n, reason);
  }

  /** Forgets `n` and hangs up its link. */
  drop(n: Neighbour, reason: NeighbourDownReason, told?: Told): void {
    this.forget(n, reason, told);
    const link = this.#ctx.links.detach(n);
    if (link !== undefined) void link.hangUp().catch(() => undefined);
  }

  /** Sends neighbour `to` the entries of the neighbours `about` (and this node's) in a PARTIAL update. */
  tellOf(to: string, about: readonly string[]): void {
    const { table } = this.#ctx;
    const peer = table.get(to);
    if (peer === undefined) return;
    const entries = about.flatMap((id) => {
      const n = table.get(id);
      return n === undefined || n === peer ? [] : [n];
    });
    const notice = this.#ctx.announcer.partialUpdate(entries);
    void this.#ctx.links.requestPeer(peer, DhtOperation.NEIGHBOUR_UPDATE.type, notice).catch(() => undefined);
  }

  /** The sender of a LEAVE as it says it is now: gone when it owns nothing any more, else updated. */
  noteSender(from: string, sender: PeerEntry): void {
    if (sender.zones.length === 0) {
      this.#ctx.memory.gone.bury(from, sender.version);
      const known = this.#ctx.table.get(from);
      if (known !== undefined) this.forget(known, 'left');
    } else this.upsert(sender);
  }

  /**
   * Two neighbours of this node claim overlapping zones (they raced for a dead zone without knowing each other):
   * each is told of the other, so that they meet and repair it.
   */
  #introduceOverlapping(n: Neighbour): void {
    for (const m of this.#ctx.table.values()) {
      if (m === n || !overlapping(m.zones, n.zones)) continue;
      // Once per pair and refresh interval: an entry may be stale, and then its overlap is not for them to fix.
      if (!this.#ctx.memory.introduce(m.id, n.id, this.#ctx.clock.now(), this.#ctx.refreshInterval)) continue;
      this.#ctx.counters.refuse('double-ownership-seen');
      for (const [to, about] of [
        [m, n],
        [n, m],
      ] as const) {
        const notice = this.#ctx.announcer.partialUpdate([about]);
        void this.#ctx.links
          .requestPeer(to, DhtOperation.NEIGHBOUR_UPDATE.type, notice)
          .catch(() => undefined);
      }
    }
  }
}
