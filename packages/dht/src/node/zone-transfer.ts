import { chooseTakeover, type TakeoverOptions, type Zone } from '@xpp/can';
import type { Clock, TimerHandle } from '@xpp/reliability';
import type { XppCall } from '@xpp/session-sdp';
import { WireError, type Message, type XppOption } from '@xpp/wire';
import { DhtError } from '../errors.js';
import { decodeHandoff, encodeHandoff, encodeNeighbourUpdate } from '../messages.js';
import { DhtOperation } from '../operations.js';
import { DhtOption } from '../options.js';
import { batchRecords } from '../records.js';
import type { NeighbourInfo, WireRecord } from '../values.js';
import type { Announcer } from './announcer.js';
import type { NodeCounters } from './counters.js';
import type { LeaveEvent } from './events.js';
import type { Links } from './links.js';
import type { Membership } from './membership.js';
import { peerIdHex, type Neighbour, type NeighbourTable } from './neighbour-table.js';
import type { Ownership } from './ownership.js';
import type { SettleTrigger } from './parts.js';
import type { PeerInfoCodec } from './peer-info.js';
import { TakenZones } from './taken-zones.js';
import { commitLeave, CONFIRM_WINDOW } from './handoff-commit.js';
import { newerThanHeld } from './handed-back.js';
import { assertWithin } from './replica-holder.js';
import { encodeReplicate, REPLICATE } from './replication.js';
import type { ZoneClaims } from './zone-claims.js';
import type { ZoneRecords } from './zone-records.js';
import { mergeSiblings, overlapping, resolveOverlap } from './zones.js';

/** What zone transfer needs of its node. */
export interface ZoneTransferContext extends SettleTrigger {
  readonly selfId: string;
  readonly dimensions: number;
  readonly clock: Clock;
  readonly claimTimeout: number;
  /** The request timeout. */
  readonly timeout: number;
  /** Octets of records in one REPLICATE or hand-back. */
  readonly batchOctets: number;
  readonly takeoverOptions: TakeoverOptions;
  readonly own: Ownership;
  readonly table: NeighbourTable;
  readonly records: ZoneRecords;
  readonly peerInfo: PeerInfoCodec;
  readonly counters: NodeCounters;
  readonly members: Pick<Membership, 'upsert' | 'learn' | 'noteSender' | 'pruneNonAdjacent'>;
  readonly links: Pick<Links, 'request' | 'requestPeer' | 'attach' | 'connect'>;
  readonly announcer: Pick<Announcer, 'announce'>;
  readonly claims: Pick<ZoneClaims, 'notOwn' | 'within'>;
  /** See ZoneClaimsContext.contested. */
  contested(): readonly Zone[];
  /** Calls a candidate (its session served as the node's are). */
  place(uri: string, signal?: AbortSignal): Promise<XppCall>;
  /** This node's entry with `zones` (at `version`, by default the current one). */
  info(zones: readonly Zone[], version?: number): NeighbourInfo;
  /** Records became primaries here: the zone's replica holders get them at the next pass. */
  newPrimaries(): void;
  left(event: LeaveEvent): void;
  close(): Promise<void>;
}

/**
 * Zones changing hands by agreement (spec §3): half a zone (or one of several) given to a newcomer (JOIN, inviter
 * side), every zone handed over on leave, one of several handed back to a sibling's holder (background merge),
 * zones taken from a leaving or handing peer (LEAVE), double ownership repaired (the records go back by LEAVE with
 * RETURN), and the departure of a node that owns nothing any more.
 */
export class ZoneTransfer {
  readonly #ctx: ZoneTransferContext;
  /** Repairs put off while a zone was being handed over, with their timers. */
  readonly #retries = new Set<TimerHandle>();
  /**
   * Zones taken lately, for a sender that asks again (its answer lost): longer than it may take to find its first
   * LEAVE failed (a link awaited, then the request: 2 request timeouts) and then keep asking (CONFIRM_WINDOW).
   */
  readonly #taken: TakenZones;

  constructor(ctx: ZoneTransferContext) {
    this.#ctx = ctx;
    this.#taken = new TakenZones(3 * CONFIRM_WINDOW * ctx.timeout);
  }

  /** Clears every timer (the node closes). */
  stop(): void {
    for (const timer of this.#retries) this.#ctx.clock.clearTimer(timer);
    this.#retries.clear();
  }

  /**
   * Invites the candidate at `uri` (the node checked it is a peer, under its lock): hands it the upper half of this
   * node's zone, or one of several zones whole, with the records and neighbours of that zone (JOIN), and announces
   * the change.
   */
  async invite(uri: string, signal?: AbortSignal): Promise<{ peerId: string; zone: Zone }> {
    const whole = this.#ctx.own.zones.length > 1;
    const zone = whole
      ? (this.#ctx.own.zones[this.#ctx.own.zones.length - 1] as Zone)
      : this.#ctx.own.zones[0];
    if (zone === undefined || (!whole && !zone.canSplit))
      throw new DhtError('INVALID_ARGUMENT', 'this node has no zone it can split');
    const call = await this.#ctx.place(uri, signal);
    const [kept, handed] = whole ? [undefined, zone] : zone.split();
    const remaining = this.#ctx.own.zones.filter((z) => z !== zone);
    if (kept !== undefined) remaining.unshift(kept);
    const response = await this.#ctx.own.whileHandingOff(handed, async () => {
      const records = this.#ctx.records.wire(this.#ctx.records.inZones([handed]));
      const newcomerNeighbours = [
        this.#ctx.info(remaining, this.#ctx.own.version + 1),
        ...this.#ctx.table.adjacentTo([handed]).map((n) => this.#ctx.peerInfo.encode(n)),
      ];
      try {
        return await this.#ctx.links.request(
          call,
          DhtOperation.JOIN.type,
          encodeHandoff({
            zones: this.#ctx.peerInfo.encodeZones([handed]),
            neighbours: newcomerNeighbours,
            records,
          }),
        );
      } catch (error) {
        void call.hangUp().catch(() => undefined);
        throw error;
      }
    });
    const newcomer = DhtOption.NEIGHBOUR.require(response.options);
    // With membership the newcomer is who its answer's certificate says; its entry may not name another peer (the
    // zone stays here then: a newcomer that lies gets no zone, and its records are this node's still).
    if (call.peer !== undefined && peerIdHex(newcomer.peerId) !== call.peer) {
      void call.hangUp().catch(() => undefined);
      throw new DhtError('FORBIDDEN', 'the newcomer answered a JOIN in another peer’s name');
    }
    this.#ctx.records.take([handed]);
    this.#ctx.own.set(remaining, 'invite');
    const entry = this.#ctx.members.upsert({
      ...newcomer,
      zones: this.#ctx.peerInfo.decodeZones(newcomer.zones),
    });
    if (entry !== undefined) this.#ctx.links.attach(entry, call, true);
    // Tell everyone else about our new zone and the newcomer; those no longer adjacent drop the link.
    await this.#ctx.announcer.announce(this.#ctx.own.version, entry?.id);
    this.#ctx.members.pruneNonAdjacent();
    return { peerId: peerIdHex(newcomer.peerId), zone: handed };
  }

  /**
   * Hands every zone to its taker (leave, under the node's lock); back to a peer when a taker refuses one. False
   * when a taker never confirmed a hand-off: it may own the zone or not, so this node may not serve it any more and
   * must close as a crashed peer does (its neighbours' takeover decides, dht-handoff-confirm.md).
   */
  async handOverAll(signal?: AbortSignal): Promise<boolean> {
    this.#ctx.own.setState('leaving');
    try {
      for (const zone of [...this.#ctx.own.zones]) {
        signal?.throwIfAborted();
        const taker = this.#takerOf(zone) ?? (await this.#relinkTakers(zone));
        // Nobody adjacent answers: the zone goes as a crash's would, taken over by a neighbour's timers.
        if (taker === undefined) break;
        if (!(await this.#handOff(zone, taker, signal))) return false;
      }
      return true;
    } catch (error) {
      this.#ctx.own.setState('peer');
      this.#ctx.requestSettle();
      throw error;
    }
  }

  /**
   * Tells every neighbour that this node owns nothing now, and closes. Nobody may keep a link or an entry to a peer
   * that owns nothing; the neighbours' entries go with it (the takers' new zones among them), so that they meet
   * the peers that own its zones now.
   */
  async depart(): Promise<void> {
    const gone = encodeNeighbourUpdate({
      neighbours: [
        this.#ctx.info([], this.#ctx.own.version),
        ...[...this.#ctx.table.values()].map((n) => this.#ctx.peerInfo.encode(n)),
      ],
    });
    await Promise.allSettled(
      [...this.#ctx.table.values()].map((n) =>
        n.link === undefined
          ? undefined
          : this.#ctx.links.request(n.link, DhtOperation.NEIGHBOUR_UPDATE.type, gone),
      ),
    );
    await this.#ctx.close();
  }

  /**
   * CAN background reassignment (spec §3): sibling zones held here merge; a node holding several zones hands
   * one back to the neighbour holding its sibling whole, who merges them (one hand-back per settle).
   */
  async reassign(): Promise<void> {
    if (this.#ctx.own.state !== 'peer') return;
    const merged = mergeSiblings(this.#ctx.own.zones);
    if (merged.length !== this.#ctx.own.zones.length) this.#ctx.own.set(merged, 'merge');
    if (this.#ctx.own.zones.length < 2 || this.#ctx.own.handBacksHeld(this.#ctx.clock.now())) return;
    for (const zone of this.#ctx.own.zones) {
      if (zone.depth === 0) continue;
      const sibling = zone.sibling();
      const holder = [...this.#ctx.table.values()].find(
        (n) => n.link?.session.isOpen === true && n.zones.some((z) => z.equals(sibling)),
      );
      // Two multi-zone holders of each other's siblings would swap forever: only the higher id hands back.
      if (holder === undefined || (holder.zones.length > 1 && holder.id > this.#ctx.selfId)) continue;
      try {
        // Unconfirmed: the holder could not be asked again; this node serves the zone again under a version newer
        // than the one its LEAVE promised, and an overlap, if the holder took it, is repaired as any other.
        if (!(await this.#handOff(zone, holder))) this.#ctx.counters.refuse('handback-unconfirmed');
      } catch {
        this.#ctx.counters.refuse('handback-failed');
      }
      return;
    }
  }

  /**
   * Hands `zone` with its records to `taker` (LEAVE): the records travel ahead as replica batches, then LEAVE
   * commits — the taker promotes them and owns the zone. Throws when the taker refuses (the zone stays here). A
   * LEAVE without an answer is asked again (the taker answers a repeated LEAVE as it did the first); false when no
   * answer came at all, the zone still here and not writable until then.
   */
  async #handOff(zone: Zone, taker: Neighbour, signal?: AbortSignal): Promise<boolean> {
    const encoded = this.#ctx.peerInfo.encodeZones([zone]);
    return this.#ctx.own.whileHandingOff(zone, async () => {
      const records = this.#ctx.records.wire(this.#ctx.records.inZones([zone], 'primary'));
      for (const batch of batchRecords(records, this.#ctx.batchOctets)) {
        signal?.throwIfAborted();
        await this.#ctx.links.requestPeer(
          taker,
          REPLICATE.type,
          encodeReplicate({ zones: encoded, records: batch }),
        );
      }
      const remaining = this.#ctx.own.zones.filter((z) => !z.equals(zone));
      const others = this.#ctx.table
        .adjacentTo([zone])
        .filter((n) => n !== taker)
        .map((n) => this.#ctx.peerInfo.encode(n));
      const promised = this.#ctx.own.version + 1;
      const leave = encodeHandoff({
        zones: encoded,
        neighbours: [this.#ctx.info(remaining, promised), ...others],
        records: [],
      });
      const response = await commitLeave(this.#ctx, (ms) => this.#pause(ms), taker, leave);
      if (response === undefined) {
        // The taker may hold the sender's entry at `promised` without this zone: announce above it.
        this.#ctx.own.supersede(promised);
        return false;
      }
      this.#ctx.records.take([zone]);
      // The taker's zones as it answered: this node's next announcement tells its neighbours who owns the zone now.
      const taken = DhtOption.NEIGHBOUR.find(response.options);
      if (taken !== undefined && peerIdHex(taken.peerId) === taker.id)
        this.#ctx.members.upsert(this.#ctx.peerInfo.view(taken));
      if (remaining.length === 0) this.#ctx.own.vacate();
      else this.#ctx.own.set(remaining, 'handoff');
      this.#ctx.left({
        peer: this.#ctx.selfId,
        taker: taker.id,
        zones: [zone],
        departed: remaining.length === 0,
      });
      return true;
    });
  }

  /** Waits `ms` on the node's clock (cleared by stop()). */
  #pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = this.#ctx.clock.setTimer(() => {
        this.#retries.delete(timer);
        resolve();
      }, ms);
      this.#retries.add(timer);
    });
  }

  /**
   * No adjacent neighbour has an open link (a session that ended under load and was not called again yet): call
   * them, each within the request timeout, then choose among those that answered. Leaving without handing over would
   * leave the zone ownerless until a takeover.
   */
  async #relinkTakers(zone: Zone): Promise<Neighbour | undefined> {
    const adjacent = this.#ctx.table.adjacentTo([zone]).filter((n) => n.zones.length > 0);
    if (adjacent.length === 0) return undefined;
    await Promise.allSettled(adjacent.map((n) => this.#ctx.links.connect(n)));
    return this.#takerOf(zone);
  }

  /** The neighbour that should take `zone` when this node hands it over (spec §3 preference). */
  #takerOf(zone: Zone): Neighbour | undefined {
    const candidates = this.#ctx.table
      .adjacentTo([zone])
      .filter((n) => n.zones.length > 0 && n.link?.session.isOpen === true)
      .map((n) => ({ id: n.id, zones: n.zones }));
    if (candidates.length === 0) return undefined;
    return this.#ctx.table.get(chooseTakeover(zone, candidates, this.#ctx.takeoverOptions).taker);
  }

  /**
   * Whether `request` is a LEAVE that `from` sent again for zones this node took from it lately: answered as the
   * first was, even when `from` is no neighbour any more (the dispatcher lets it in for that).
   */
  askedAgain(from: string, request: Message): boolean {
    try {
      const handoff = decodeHandoff(request.options);
      return (
        handoff.returned !== true &&
        this.#taken.tookAll(from, this.#ctx.peerInfo.decodeZones(handoff.zones), this.#ctx.clock.now())
      );
    } catch {
      return false;
    }
  }

  /** A neighbour hands this node a zone (it leaves, or hands back one of several zones): take it and its records. */
  onLeave(from: string, request: Message): readonly XppOption[] {
    const handoff = decodeHandoff(request.options);
    const zones = this.#ctx.peerInfo.decodeZones(handoff.zones);
    // Asked again (the answer to the first was lost): taken already, whatever this node did with the zone since.
    if (handoff.returned !== true && this.#taken.tookAll(from, zones, this.#ctx.clock.now()))
      return [DhtOption.NEIGHBOUR.option(this.#ctx.info(this.#ctx.own.zones), true)];
    if (this.#ctx.own.state !== 'peer') throw new DhtError('LEAVING', 'this node is not taking zones now');
    const [senderInfo, ...others] = handoff.neighbours;
    if (senderInfo === undefined || peerIdHex(senderInfo.peerId) !== from)
      throw new WireError('BAD_VALUE', 'a LEAVE lists its sender first');
    const senderZones = this.#ctx.peerInfo.decodeZones(senderInfo.zones);
    // What the sender keeps is not this node's; what it hands over it held (or it is a dead zone it took a moment
    // ago, before its announcement arrived here). Records returned are for zones this node owns (below).
    this.#ctx.claims.notOwn(senderZones);
    if (handoff.returned !== true) {
      const held = [...(this.#ctx.table.get(from)?.zones ?? []), ...this.#ctx.contested()];
      this.#ctx.claims.within(zones, held, 'a LEAVE');
    }
    if (handoff.returned === true) {
      if (!zones.every((z) => this.#ctx.own.zones.some((m) => m.covers(z))))
        throw new DhtError('CONFLICT', 'records returned for zones this node does not own');
      return this.#onHandedBack(from, { ...senderInfo, zones: senderZones }, zones, handoff.records);
    }
    if (overlapping(zones, this.#ctx.own.zones))
      throw new DhtError('CONFLICT', 'this node owns part of that zone');
    this.#ctx.records.insert(handoff.records, 'primary');
    this.#ctx.records.promote(zones);
    const departed = senderZones.length === 0;
    this.#ctx.own.set([...this.#ctx.own.zones, ...zones], departed ? 'leave' : 'handoff');
    this.#taken.note(from, zones, this.#ctx.clock.now());
    this.#ctx.members.noteSender(from, { ...senderInfo, zones: senderZones });
    for (const info of others) {
      const n = this.#ctx.members.learn(info, from);
      if (n !== undefined) void this.#ctx.links.connect(n);
    }
    this.#ctx.left({ peer: from, taker: this.#ctx.selfId, zones, departed });
    // The handing peer passes the taker's new zones on to its own neighbours (see #handOff).
    return [DhtOption.NEIGHBOUR.option(this.#ctx.info(this.#ctx.own.zones), true)];
  }

  /**
   * A peer that owned part of this node's zones too (a double ownership) gave it up and hands its records here
   * (handBack): they become primaries, where this node has none of its own of them.
   */
  #onHandedBack(
    from: string,
    sender: Omit<NeighbourInfo, 'zones'> & { readonly zones: readonly Zone[] },
    zones: readonly Zone[],
    records: readonly WireRecord[],
  ): readonly XppOption[] {
    assertWithin(records, zones, this.#ctx.dimensions);
    // A key this node holds primaries of may have been written here since, or there (handed-back.ts).
    const held = this.#ctx.records.inZones(zones, 'primary');
    const newer = newerThanHeld(records, held, this.#ctx.clock.now());
    const { stored } = this.#ctx.records.insert(newer, 'primary');
    if (stored > 0) {
      // The new primaries go to this zone's replica holders at the next pass.
      this.#ctx.newPrimaries();
    }
    this.#ctx.members.noteSender(from, sender);
    return [DhtOption.NEIGHBOUR.option(this.#ctx.info(this.#ctx.own.zones), true)];
  }

  /**
   * A peer announced zones overlapping this node's: gives up the overlapping part as `resolveOverlap` decides (both
   * sides decide alike), keeping the records there as replicas (docs/decisions/dht-double-ownership.md).
   */
  repairOverlap(peer: Neighbour): void {
    if (this.#ctx.own.state !== 'peer' || !overlapping(peer.zones, this.#ctx.own.zones)) return;
    if (this.#ctx.own.handingOff !== undefined) {
      // The taker of a zone being handed over may announce it before its answer arrives here: look again after.
      const timer = this.#ctx.clock.setTimer(() => {
        this.#retries.delete(timer);
        const again = this.#ctx.table.get(peer.id);
        if (again !== undefined) this.repairOverlap(again);
      }, this.#ctx.claimTimeout);
      this.#retries.add(timer);
      return;
    }
    const kept = resolveOverlap(this.#ctx.selfId, this.#ctx.own.zones, peer.id, peer.zones);
    if (
      kept.length === this.#ctx.own.zones.length &&
      kept.every((z, i) => z.equals(this.#ctx.own.zones[i] as Zone))
    ) {
      // This node keeps: the other owner repairs on this node's announcement, which it may never have heard (a
      // restarted peer's table holds what was true before its zone was taken over). Tell it now.
      const self = encodeNeighbourUpdate({
        neighbours: [this.#ctx.info(this.#ctx.own.zones)],
        partial: true,
      });
      this.#ctx.links.requestPeer(peer, DhtOperation.NEIGHBOUR_UPDATE.type, self).catch(() => undefined);
      return;
    }
    this.#ctx.counters.refuse('double-ownership-repaired');
    // What this node gives up is what the peer announced of it: the smaller of each overlapping pair.
    const given = this.#ctx.own.zones.flatMap((m) =>
      peer.zones.filter((t) => m.overlaps(t)).map((t) => (m.covers(t) ? t : m)),
    );
    const records = this.#ctx.records.wire(this.#ctx.records.inZones(given, 'primary'));
    this.#ctx.records.demote(given);
    this.#ctx.own.set(kept, 'repair');
    // All this node held is the other peer's (it took a dead zone and had handed its own away): it owns nothing, so
    // it is no longer a peer. It leaves as a peer that handed everything over does; its operator may rejoin it.
    if (kept.length === 0) this.#ctx.own.setState('leaving');
    void (async () => {
      await this.handBack(peer, given, records);
      if (kept.length === 0) await this.depart();
    })();
  }

  /**
   * Returns records of `zones` to `peer`, which owns them (LEAVE with RETURN): the records of zones given up in a
   * repair, or replicas of a dead zone its taker may lack (the takeover coordinator) — only the survivors holding a dead
   * zone's replicas promote them on a takeover. What fails to go stays here as replicas.
   */
  async handBack(peer: Neighbour, zones: readonly Zone[], records: readonly WireRecord[]): Promise<void> {
    const encoded = this.#ctx.peerInfo.encodeZones(zones);
    for (const batch of batchRecords(records, this.#ctx.batchOctets)) {
      const body = encodeHandoff({
        zones: encoded,
        neighbours: [this.#ctx.info(this.#ctx.own.zones)],
        records: batch,
        returned: true,
      });
      try {
        await this.#ctx.links.requestPeer(peer, DhtOperation.LEAVE.type, body);
      } catch {
        this.#ctx.counters.refuse('repair-handback-failed');
        return;
      }
    }
  }
}
