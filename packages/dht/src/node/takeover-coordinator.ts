import type { Point, TakeoverCandidate, TakeoverOptions, Zone } from '@xpp/can';
import type { Clock } from '@xpp/reliability';
import type { Message, XppOption } from '@xpp/wire';
import { DhtError } from '../errors.js';
import { decodeTakeover, encodeTakeover } from '../messages.js';
import { DhtOperation } from '../operations.js';
import { DhtOption } from '../options.js';
import type { NeighbourInfo, WireRecord } from '../values.js';
import type { TakeoverEvent } from './events.js';
import type { Links } from './links.js';
import type { Membership } from './membership.js';
import {
  adjacent,
  notePeer,
  peerIdHex,
  type Neighbour,
  type NeighbourTable,
  type PeerView,
} from './neighbour-table.js';
import type { NodeView, SettleTrigger } from './parts.js';
import type { PeerInfoCodec } from './peer-info.js';
import type { PeerMemory } from './peer-memory.js';
import type { ZoneClaims } from './zone-claims.js';
import {
  prefers,
  TakeoverTable,
  takeoverOrder,
  type ClaimAnswer,
  type DeadPeer,
  type Takeover,
} from './takeover.js';
import type { ZoneRecords } from './zone-records.js';
import { overlapping, subtractZones } from './zones.js';

/** The node's settings a takeover runs by. */
export interface TakeoverSettings {
  readonly selfId: string;
  readonly clock: Clock;
  readonly takeoverOptions: TakeoverOptions;
  /** Replicas of every record: the first survivors in a dead zone's order hold them. */
  readonly replicas: number;
  readonly claimTimeout: number;
  readonly timeout: number;
  /** How long a crash may go unnoticed by a neighbour. */
  readonly detectionWindow: number;
  readonly maxNeighbours: number;
}

/** What the takeover coordinator needs of its node, besides its settings. */
export interface TakeoverContext extends TakeoverSettings, NodeView, SettleTrigger {
  readonly table: NeighbourTable;
  readonly memory: PeerMemory;
  readonly records: Pick<ZoneRecords, 'inZones' | 'wire'>;
  readonly peerInfo: Pick<PeerInfoCodec, 'encodeZones' | 'decodeZones'>;
  readonly members: Pick<Membership, 'forget' | 'upsert' | 'learnView' | 'tellOf'>;
  readonly links: Pick<Links, 'connect' | 'requestPeer'>;
  readonly claims: Pick<ZoneClaims, 'sender' | 'notOwn' | 'within' | 'unverified'>;
  exclusive<T>(work: () => Promise<T>): Promise<T>;
  /** This node's entry with `zones`. */
  info(zones: readonly Zone[]): NeighbourInfo;
  /** Takes `zone` as this node's, its replicas promoted; returns how many were. */
  take(zone: Zone): number;
  /** Background hand-backs wait until `until`; a routine settle pass follows then. */
  holdHandBacks(until: number): void;
  took(event: TakeoverEvent): void;
  /** Returns records of `zones` to their owner (LEAVE with RETURN). */
  handBack(owner: Neighbour, zones: readonly Zone[], records: readonly WireRecord[]): Promise<void>;
}

/**
 * Crash takeover (spec §3): when a neighbour dies, arms the takeover of each of its zones that abuts this node's,
 * waits its turn in the survivors' order, claims the zone from every other survivor (TAKEOVER), yields on a
 * refusal (409) and commits otherwise; answers other survivors' claims; narrows a takeover to the parts nobody
 * owns yet; hands replicas to a taker that may lack them.
 */
export class TakeoverCoordinator {
  readonly #ctx: TakeoverContext;
  readonly #table: TakeoverTable;
  #won = 0;
  #yielded = 0;

  constructor(ctx: TakeoverContext) {
    this.#ctx = ctx;
    this.#table = new TakeoverTable(ctx.clock);
  }

  /** Takeovers waiting for their turn or claiming. */
  get pending(): number {
    return this.#table.pending;
  }

  get won(): number {
    return this.#won;
  }

  get yielded(): number {
    return this.#yielded;
  }

  /** Whether a takeover is undecided here (see TakeoverTable.coordinating). */
  coordinating(): boolean {
    return this.#table.coordinating();
  }

  /** Whether `point` lies in a dead zone whose takeover is not done yet (its replicas are kept). */
  pendingAt(point: Point): boolean {
    for (const t of this.#table.values()) if (t.state !== 'done' && t.zone.contains(point)) return true;
    return false;
  }

  /** Stops every timer and forgets every takeover (the node closes). */
  stop(): void {
    this.#table.clear();
  }

  /** A neighbour's session died (keepalives unanswered, or delivery gave up): arm the takeover of its zones. */
  linkDied(n: Neighbour): void {
    if (this.#ctx.state() !== 'peer' || this.#ctx.table.get(n.id) !== n) return;
    this.#ctx.members.forget(n, 'dead');
    const dead: DeadPeer = {
      id: n.id,
      peerId: n.peerId,
      version: n.version,
      zones: n.zones,
      peers: n.peers,
      diedAt: this.#ctx.clock.now(),
    };
    // Buried like a peer that left, so that lists relayed by peers that have not noticed cannot bring it back; a
    // peer only cut off from this node can still speak for itself (Membership.learn, admission). Out of the lists this node
    // keeps of its neighbours' neighbours too: a taker must not call it from one of them.
    this.#ctx.memory.markDead(dead);
    const gone: PeerView = { id: n.id, peerId: n.peerId, zones: [], contact: n.contact, version: n.version };
    notePeer(this.#ctx.table.values(), gone, this.#ctx.maxNeighbours);
    for (const zone of dead.zones) if (adjacent([zone], this.#ctx.zones())) this.#armTakeover(dead, zone);
    this.#ctx.requestSettle();
  }

  /**
   * Arms the takeover of `zone` of `dead`. A part of a dead zone (`whole`: the takeover of the rest, #narrow) keeps
   * the ranking of the whole among the survivors that abut the part, so that a replica holder takes the part when
   * one abuts it and the records go with the zone.
   */
  #armTakeover(dead: DeadPeer, zone: Zone, whole?: Takeover): void {
    if (this.#table.get(dead.id, zone) !== undefined) return;
    const order =
      whole === undefined
        ? takeoverOrder(dead, zone, this.#self, this.#ctx.takeoverOptions)
        : whole.order.filter(
            (id) =>
              id === this.#ctx.selfId || adjacent(dead.peers.find((p) => p.id === id)?.zones ?? [], [zone]),
          );
    const holders = whole?.holders ?? order.slice(0, this.#ctx.replicas);
    this.#waitToClaim(this.#table.add(dead, zone, order, holders));
  }

  /**
   * Survivors wait in takeover order, one claim timeout apart, so that the preferred one claims first even when
   * volumes tie (spec §3 timers; docs/decisions/dht-takeover.md).
   */
  #waitToClaim(t: Takeover): void {
    t.state = 'waiting';
    const rank = Math.max(0, t.order.indexOf(this.#ctx.selfId));
    t.timer = this.#ctx.clock.setTimer(() => {
      t.timer = undefined;
      void this.#claim(t);
    }, rank * this.#ctx.claimTimeout);
  }

  /** This node's turn came (or a less preferred peer claimed first): claim the dead zone from the other survivors. */
  async #claim(t: Takeover): Promise<void> {
    if (t.state !== 'waiting' || this.#ctx.state() !== 'peer') return;
    const rest = this.#unownedPartsOf(t.zone);
    if (rest.length !== 1 || !(rest[0] as Zone).equals(t.zone)) {
      this.#narrow(t, rest);
      return;
    }
    if (t.timer !== undefined) this.#ctx.clock.clearTimer(t.timer);
    t.timer = undefined;
    t.state = 'claiming';
    const body = [
      ...encodeTakeover({ deadPeer: t.dead.peerId, zones: this.#ctx.peerInfo.encodeZones([t.zone]) }),
      DhtOption.NEIGHBOUR.option(this.#ctx.info(this.#ctx.zones()), true),
    ];
    const survivors = this.#survivorsOf(t);
    const answers = await Promise.all(
      survivors.map((n) =>
        // A survivor called just now gets a request timeout for the call and the claim together.
        this.#sendClaim(n, body, n.link === undefined ? this.#ctx.timeout : this.#ctx.claimTimeout),
      ),
    );
    if (t.state !== 'claiming') return;
    if (answers.includes('refused')) {
      this.#yield(t);
      return;
    }
    // A survivor whose session is open is alive as far as keepalives tell: one that did not answer within a claim
    // timeout is slow (a loaded host), and committing without it let it take the zone too. It is asked once more,
    // with a request timeout, before this node commits without its word.
    const slow = survivors.filter((n, i) => answers[i] === 'unreachable' && n.link?.session.isOpen === true);
    if (slow.length > 0) {
      const again = await Promise.all(slow.map((n) => this.#sendClaim(n, body, this.#ctx.timeout)));
      if (t.state !== 'claiming') return;
      if (again.includes('refused')) {
        this.#yield(t);
        return;
      }
    }
    await this.#ctx.exclusive(async () => this.#commitTakeover(t));
  }

  /**
   * Every other survivor of `t`'s dead zone, in the table and called when not linked: in a CAN the neighbours of a
   * zone are mostly not neighbours of each other, and a claim sent only over the links a survivor had reached
   * few of them — in the 1,000-peer simulation many claimers had none, and most dead zones were taken twice or
   * more. They become this node's neighbours if it takes the zone; if not, they are pruned once nothing is
   * pending. Survivors known dead or unreachable are skipped.
   */
  #survivorsOf(t: Takeover): Neighbour[] {
    const survivors: Neighbour[] = [];
    for (const id of t.order) {
      if (id === this.#ctx.selfId) continue;
      let n = this.#ctx.table.get(id);
      if (n === undefined) {
        const view = t.dead.peers.find((p) => p.id === id);
        if (
          view === undefined ||
          this.#ctx.memory.gone.buries(id, view.version) ||
          this.#ctx.memory.unreachable.has(id)
        )
          continue;
        n = this.#ctx.members.upsert(view);
        if (n === undefined) continue;
      }
      if (n.link === undefined) void this.#ctx.links.connect(n);
      survivors.push(n);
    }
    // And neighbours abutting the zone that the dead peer's list lacked (it may not have heard of them yet).
    for (const n of this.#ctx.table.adjacentTo([t.zone])) if (!survivors.includes(n)) survivors.push(n);
    return survivors;
  }

  async #sendClaim(n: Neighbour, body: readonly XppOption[], timeout: number): Promise<ClaimAnswer> {
    try {
      await this.#ctx.links.requestPeer(n, DhtOperation.TAKEOVER.type, body, timeout);
      return 'ok';
    } catch (error) {
      return DhtError.is(error) && error.status === 409 ? 'refused' : 'unreachable';
    }
  }

  /** How long a survivor refuses other claimers after a grant: less than a refused claimer waits (#yield). */
  get #grantHold(): number {
    return 2 * this.#ctx.claimTimeout;
  }

  #yield(t: Takeover): void {
    if (t.timer !== undefined) this.#ctx.clock.clearTimer(t.timer);
    t.state = 'yielded';
    this.#yielded++;
    this.#ctx.requestSettle();
    // If the winner dies before announcing the zone, claim again.
    t.timer = this.#ctx.clock.setTimer(() => {
      t.timer = undefined;
      if (this.#ctx.state() !== 'peer' || !this.#table.has(t)) return;
      if (this.#unownedPartsOf(t.zone).length === 0 || !adjacent([t.zone], this.#ctx.zones())) {
        this.#table.delete(t);
        this.#offerReplicas(t);
        this.#ctx.requestSettle();
      } else this.#waitToClaim(t);
    }, 3 * this.#ctx.claimTimeout);
  }

  #commitTakeover(t: Takeover): void {
    if (t.state !== 'claiming' || this.#ctx.state() !== 'peer') return;
    if (this.#ownedElsewhere(t.zone)) {
      this.#yield(t);
      return;
    }
    t.state = 'done';
    this.#won++;
    const promoted = this.#ctx.take(t.zone);
    // A survivor that noticed the death later may race for the zone, and the repair makes the higher id give the
    // zone up (zone repair): until every survivor has noticed, this node keeps its own zone rather than hand it
    // back for a merge, so that losing the race never leaves it with nothing.
    this.#ctx.holdHandBacks(this.#ctx.clock.now() + this.#ctx.detectionWindow);
    for (const p of t.dead.peers) this.#ctx.members.learnView(p);
    this.#ctx.took({ deadPeer: t.dead.id, zone: t.zone, promoted });
    t.timer = this.#ctx.clock.setTimer(() => {
      this.#table.delete(t);
    }, 3 * this.#ctx.claimTimeout);
  }

  /** This node as a takeover ranks it: by its current zones. */
  get #self(): TakeoverCandidate<string> {
    return { id: this.#ctx.selfId, zones: this.#ctx.zones() };
  }

  /** Whether a neighbour owns (part of) `zone`: a dead zone someone has taken over already. */
  #ownedElsewhere(zone: Zone): boolean {
    for (const n of this.#ctx.table.values()) if (overlapping([zone], n.zones)) return true;
    return false;
  }

  /**
   * The parts of `zone` that neither this node nor any neighbour owns, as zones. A dead zone partly owned is not
   * taken: survivors may know different zones of the dead peer (one that missed its last merge saw two halves), and
   * one that took the half it knew must not make the others drop the other half (a hole seen in the simulation).
   */
  #unownedPartsOf(zone: Zone): Zone[] {
    return subtractZones(
      [zone],
      [...this.#ctx.zones(), ...[...this.#ctx.table.values()].flatMap((n) => n.zones)],
    );
  }

  /**
   * Part of `t`'s dead zone is owned now: `t` gives way to a takeover of each unowned part that abuts this node's
   * zones, ranked and timed afresh; the parts that do not are left to the survivors they abut.
   */
  #narrow(t: Takeover, rest: readonly Zone[]): void {
    if (t.timer !== undefined) this.#ctx.clock.clearTimer(t.timer);
    this.#table.delete(t);
    this.#offerReplicas(t);
    for (const part of rest) if (adjacent([part], this.#ctx.zones())) this.#armTakeover(t.dead, part, t);
    this.#ctx.requestSettle();
  }

  /** Drops the pending takeovers of zones neighbours have announced they own now, all of each. */
  resolve(): void {
    for (const t of [...this.#table.values()]) {
      if (t.state === 'done' || t.state === 'claiming' || this.#unownedPartsOf(t.zone).length > 0) continue;
      if (t.timer !== undefined) this.#ctx.clock.clearTimer(t.timer);
      this.#table.delete(t);
      this.#offerReplicas(t);
    }
  }

  /**
   * Another survivor took a dead zone this node holds replicas of: they are handed to it (a hand-back), and it keeps
   * those it has no primary of. Also to a taker this node ranks among the replica holders: the ranking is this
   * node's view of the dead peer's neighbour list, and under churn the dead peer may have replicated to others (a
   * simulation lost a record that way). A hand-back the taker did not need costs one transfer of the zone's
   * records per holder, once per death.
   */
  #offerReplicas(t: Takeover): void {
    for (const owner of this.#ctx.table.values()) {
      if (!overlapping([t.zone], owner.zones)) continue;
      const parts = owner.zones.filter((z) => t.zone.overlaps(z)).map((z) => (t.zone.covers(z) ? z : t.zone));
      const records = this.#ctx.records.wire(this.#ctx.records.inZones(parts, 'replica'));
      if (records.length > 0) void this.#ctx.handBack(owner, parts, records);
    }
  }

  onTakeover(from: string, request: Message): readonly XppOption[] {
    if (this.#ctx.state() !== 'peer') throw new DhtError('NOT_A_PEER', 'not a peer');
    const claim = decodeTakeover(request.options);
    const claimer = DhtOption.NEIGHBOUR.find(request.options);
    const deadId = peerIdHex(claim.deadPeer);
    if (deadId === this.#ctx.selfId) throw new DhtError('CONFLICT', 'this peer is alive');
    const claimerZones =
      claimer === undefined
        ? (this.#ctx.table.get(from)?.zones ?? [])
        : this.#ctx.peerInfo.decodeZones(claimer.zones);
    this.#checkClaim(
      from,
      claimer?.peerId,
      claimerZones,
      deadId,
      this.#ctx.peerInfo.decodeZones(claim.zones),
    );
    // A survivor that has not noticed the death yet learns it from the claim.
    const stillHere = this.#ctx.table.get(deadId);
    if (stillHere !== undefined) {
      this.linkDied(stillHere);
      stillHere.link?.session.close();
    }
    const granting: Takeover[] = [];
    const now = this.#ctx.clock.now();
    for (const zone of this.#ctx.peerInfo.decodeZones(claim.zones)) {
      const t = this.#table.get(deadId, zone);
      if (t?.state === 'done' || overlapping([zone], this.#ctx.zones()) || this.#ownedElsewhere(zone)) {
        this.#tellOwners(from, zone);
        throw new DhtError('CONFLICT', `zone ${zone.path} is taken already`);
      }
      if (t === undefined) continue;
      // Granted to another claimer a moment ago: that one has likely committed, and its announcement is on the way.
      // The hold ends before a refused claimer tries again (#yield), so that two claimers that split the grants
      // do not keep splitting them (docs/decisions/dht-takeover.md).
      const held = t.granted;
      if (held !== undefined && held.id !== from && now - held.at < this.#grantHold) {
        this.#ctx.members.tellOf(from, [held.id]);
        throw new DhtError('CONFLICT', `zone ${zone.path} was granted to another claimer`);
      }
      const claimant = { id: from, zones: claimerZones };
      if (t.state !== 'yielded' && prefers(t, this.#self, claimant, this.#ctx.takeoverOptions)) {
        if (t.state === 'waiting') void this.#claim(t);
        throw new DhtError('CONFLICT', `a preferred survivor claims zone ${zone.path}`);
      }
      granting.push(t);
    }
    for (const t of granting) {
      if (t.state !== 'yielded') this.#yield(t);
      t.granted = { id: from, at: now };
    }
    return [];
  }

  /**
   * A claim is believed only from the claimer itself, for zones the dead peer held as this node knows it (spec §5.6);
   * the claimer's own zones may not overlap this node's. A dead peer this node never knew cannot be checked here.
   */
  #checkClaim(
    from: string,
    claimerId: Uint8Array | undefined,
    claimerZones: readonly Zone[],
    deadId: string,
    zones: readonly Zone[],
  ): void {
    const claims = this.#ctx.claims;
    if (claimerId !== undefined) claims.sender(from, peerIdHex(claimerId));
    claims.notOwn(claimerZones);
    const held = this.#ctx.table.get(deadId)?.zones ?? this.#ctx.memory.deadPeers.get(deadId)?.zones;
    if (held === undefined) claims.unverified();
    else claims.within(zones, held, 'a TAKEOVER');
  }

  /**
   * Tells a late claimer who owns `zone` now (this node and the neighbours holding part of it): it may not know
   * them yet — the taker's announcement reaches only peers it can call, and a survivor that has not noticed the
   * death yet refuses the taker's call on what it knew of it before.
   */
  #tellOwners(claimer: string, zone: Zone): void {
    const owners = [...this.#ctx.table.values()].filter(
      (n) => n.id !== claimer && overlapping([zone], n.zones),
    );
    this.#ctx.members.tellOf(
      claimer,
      owners.map((n) => n.id),
    );
  }
}
