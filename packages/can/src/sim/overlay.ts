import { CanError } from '../errors.js';
import { IndexedSet } from '../internal/indexed-set.js';
import { Random } from '../internal/random.js';
import { areNeighbours } from '../neighbours.js';
import { nextHop, type NeighbourZone } from '../routing.js';
import { DEFAULT_DIMENSIONS, checkDimensions, checkPoint, type Point } from '../space.js';
import { chooseTakeover, type TakeoverOptions } from '../takeover.js';
import { checkTiling, type TilingReport } from '../tiling.js';
import { Zone } from '../zone.js';

/**
 * How a newcomer's zone is chosen. `balanced`: a largest zone halves (what a load-driven invite policy
 * approaches); `split`: a uniformly random zone halves; `uniform`: the zone holding a uniformly random point
 * halves, as in the CAN paper.
 */
export type JoinRule = 'balanced' | 'split' | 'uniform';
export const JOIN_RULES: readonly JoinRule[] = ['balanced', 'split', 'uniform'];

/** Picks of `split` and `uniform` that may land on a zone too deep to split before a join gives up. */
export const MAX_JOIN_ATTEMPTS = 64;

export interface OverlayOptions {
  /** Dimensions of the space. Default 4. */
  readonly dimensions?: number;
  /** Seed of every random choice (joins, kills, lookups). Default 1. */
  readonly seed?: number;
  /** Takeover timing, passed to `chooseTakeover`. */
  readonly takeover?: TakeoverOptions;
}

/** Where a routed lookup ended. */
export interface RouteResult {
  /** Forwards taken. */
  readonly hops: number;
  /** The peer that delivered it (or where it stopped). */
  readonly at: number;
  /** Whether it was delivered at the point's true owner. */
  readonly delivered: boolean;
  /** Peers visited, start first, when asked for. */
  readonly path?: readonly number[];
}

/** One zone of the overlay as its owner and neighbours see it. */
export interface ZoneEntry {
  readonly zone: Zone;
  readonly owner: number;
  readonly neighbours: readonly Zone[];
}

class Peer {
  readonly zones: Leaf[] = [];
  alive = true;
  #zoneList: Zone[] | undefined;
  constructor(readonly id: number) {}

  /** The zones held, built once per change: routing reads them on every hop. */
  zoneList(): Zone[] {
    return (this.#zoneList ??= this.zones.map((leaf) => leaf.zone));
  }

  hold(leaf: Leaf): void {
    this.zones.push(leaf);
    this.#zoneList = undefined;
  }

  release(leaf: Leaf): void {
    this.zones.splice(this.zones.indexOf(leaf), 1);
    this.#zoneList = undefined;
  }
}

class TrieNode {
  leaf: Leaf | undefined;
  lower: TrieNode | undefined;
  upper: TrieNode | undefined;
  constructor(readonly parent: TrieNode | undefined) {}

  sibling(): TrieNode | undefined {
    const parent = this.parent;
    if (parent === undefined) return undefined;
    return parent.lower === this ? parent.upper : parent.lower;
  }
}

class Leaf {
  readonly neighbours = new Set<Leaf>();
  entry: NeighbourZone<number>;
  constructor(
    readonly zone: Zone,
    public owner: Peer,
    readonly node: TrieNode,
  ) {
    this.entry = { id: owner.id, zone };
    node.leaf = this;
  }

  setOwner(owner: Peer): void {
    this.owner = owner;
    this.entry = { id: owner.id, zone: this.zone };
  }
}

/**
 * An in-memory CAN overlay driven by the package's own geometry: joins split zones with `Zone.split`, neighbour
 * tables are kept with `areNeighbours` the way peers keep them (a split or merge only re-checks the old zones'
 * neighbours), lookups hop with `nextHop`, crashes are healed with `chooseTakeover`. A split-path trie answers
 * "who owns this point" in O(depth) as the ground truth the routes are checked against.
 */
export class SimulatedOverlay {
  readonly dimensions: number;
  readonly #random: Random;
  readonly #takeover: TakeoverOptions;
  readonly #root = new TrieNode(undefined);
  readonly #peers: Peer[] = [];
  readonly #alive = new IndexedSet<Peer>();
  readonly #leaves = new IndexedSet<Leaf>();
  /** Leaves by depth, so that `balanced` finds a largest zone without a scan. */
  readonly #byDepth: IndexedSet<Leaf>[] = [];
  #shallowest = 0;
  readonly #scratch: NeighbourZone<number>[] = [];

  constructor(options: OverlayOptions = {}) {
    this.dimensions = options.dimensions ?? DEFAULT_DIMENSIONS;
    checkDimensions(this.dimensions);
    this.#random = new Random(options.seed ?? 1);
    this.#takeover = options.takeover ?? {};
    const first = this.#newPeer();
    this.#addLeaf(new Leaf(Zone.root(this.dimensions), first, this.#root));
  }

  /** Live peers. */
  get size(): number {
    return this.#alive.size;
  }

  /** Zones held by live peers. */
  get zoneCount(): number {
    return this.#leaves.size;
  }

  /** A uniformly random point of the space, from the overlay's seeded generator. */
  randomPoint(): Point {
    const point = new Array<number>(this.dimensions);
    for (let i = 0; i < this.dimensions; i++) point[i] = this.#random.u32();
    return point;
  }

  /** A uniformly random live peer. */
  randomPeer(): number {
    return (this.#alive.pick(this.#random) as Peer).id;
  }

  /** Adds a peer by `rule` and returns its id. */
  join(rule: JoinRule): number {
    const leaf = this.#pickForJoin(rule);
    const newcomer = this.#newPeer();
    if (leaf.owner.zones.length > 1) {
      // An inviting peer that holds two zones (after a takeover) hands the newcomer one whole.
      this.#transfer(leaf, newcomer);
    } else {
      this.#split(leaf, newcomer);
    }
    return newcomer.id;
  }

  /** Joins peers by `rule` until `n` are alive. */
  grow(n: number, rule: JoinRule): void {
    while (this.#alive.size < n) this.join(rule);
  }

  /**
   * Crashes peer `id`: each of its zones goes to the survivor `chooseTakeover` names among the zone's neighbours,
   * and zones merge with their siblings where the spec's background reassignment allows. The last peer cannot go.
   */
  kill(id: number): void {
    const peer = this.#peer(id);
    if (this.#alive.size === 1)
      throw new CanError('INVALID_OPTION', 'the last peer of an overlay cannot leave');
    peer.alive = false;
    this.#alive.delete(peer);
    const pending = new Set(peer.zones);
    while (pending.size > 0) {
      let progressed = false;
      for (const leaf of pending) {
        const survivors = new Set<Peer>();
        for (const neighbour of leaf.neighbours) if (neighbour.owner.alive) survivors.add(neighbour.owner);
        if (survivors.size === 0) continue;
        const plan = chooseTakeover(
          leaf.zone,
          [...survivors].map((survivor) => ({ id: survivor.id, zones: survivor.zoneList() })),
          this.#takeover,
        );
        pending.delete(leaf);
        this.#transfer(leaf, this.#peer(plan.taker));
        this.#settle(leaf);
        progressed = true;
      }
      if (!progressed)
        throw new CanError('NO_SURVIVORS', `no live neighbour can take the zones of peer ${id}`);
    }
  }

  /** Crashes `fraction` of the live peers, one after another, each healed before the next. Returns how many. */
  killFraction(fraction: number): number {
    if (!(fraction >= 0 && fraction < 1)) {
      throw new CanError('INVALID_OPTION', `kill fraction must be in [0, 1), got ${String(fraction)}`);
    }
    const count = Math.min(Math.floor(fraction * this.#alive.size), this.#alive.size - 1);
    for (let i = 0; i < count; i++) this.kill(this.randomPeer());
    return count;
  }

  /** The live peer owning `point`, from the split-path trie. */
  ownerOf(point: Point): number {
    checkPoint(point, this.dimensions);
    return this.#leafAt(point).owner.id;
  }

  /**
   * Routes greedily from peer `from` to `target`, one `nextHop` per hop, as far as `hopLimit` forwards
   * (default: the zone count, which a route whose distance falls on every hop cannot exceed).
   */
  route(from: number, target: Point, options: { hopLimit?: number; path?: boolean } = {}): RouteResult {
    let peer = this.#peer(from);
    const limit = options.hopLimit ?? this.#leaves.size;
    const path = options.path === true ? [peer.id] : undefined;
    for (let hops = 0; ; hops++) {
      const decision = nextHop(target, peer.zoneList(), this.#neighbourEntries(peer));
      if (decision.kind === 'forward' && hops < limit) {
        peer = this.#peer(decision.next.id);
        path?.push(peer.id);
        continue;
      }
      const delivered = decision.kind === 'mine' && this.#leafAt(target).owner === peer;
      return path === undefined ? { hops, at: peer.id, delivered } : { hops, at: peer.id, delivered, path };
    }
  }

  /** The ids of the distinct peers neighbouring peer `id`. */
  neighboursOf(id: number): number[] {
    const peer = this.#peer(id);
    const out = new Set<number>();
    for (const leaf of peer.zones) {
      for (const neighbour of leaf.neighbours) if (neighbour.owner !== peer) out.add(neighbour.owner.id);
    }
    return [...out];
  }

  /** The zones peer `id` holds. */
  zonesOf(id: number): Zone[] {
    return this.#peer(id).zoneList();
  }

  /** Live peer ids. */
  peerIds(): number[] {
    return this.#alive.values().map((peer) => peer.id);
  }

  /** Every zone with its owner and the neighbour zones its table lists. */
  zoneTable(): ZoneEntry[] {
    return this.#leaves.values().map((leaf) => ({
      zone: leaf.zone,
      owner: leaf.owner.id,
      neighbours: [...leaf.neighbours].map((neighbour) => neighbour.zone),
    }));
  }

  /**
   * Whether every point has exactly one live owner: the zones the live peers hold tile the space, and each is
   * held by the peer the trie names.
   */
  checkOwners(): TilingReport & { readonly consistent: boolean } {
    const held: Zone[] = [];
    let consistent = true;
    for (const peer of this.#alive.values()) {
      for (const leaf of peer.zones) {
        held.push(leaf.zone);
        if (leaf.owner !== peer || leaf.node.leaf !== leaf) consistent = false;
      }
    }
    const report = checkTiling(held);
    return { ...report, ok: report.ok && consistent, consistent };
  }

  #newPeer(): Peer {
    const peer = new Peer(this.#peers.length);
    this.#peers.push(peer);
    this.#alive.add(peer);
    return peer;
  }

  #peer(id: number): Peer {
    const peer = this.#peers[id];
    if (peer === undefined || !peer.alive) throw new CanError('INVALID_OPTION', `no live peer ${id}`);
    return peer;
  }

  #leafAt(point: Point): Leaf {
    const d = this.dimensions;
    let node = this.#root;
    for (let depth = 0; node.leaf === undefined; depth++) {
      const coordinate = point[depth % d] as number;
      const bit = (coordinate >>> (31 - Math.floor(depth / d))) & 1;
      node = (bit === 1 ? node.upper : node.lower) as TrieNode;
    }
    return node.leaf;
  }

  #pickForJoin(rule: JoinRule): Leaf {
    if (rule === 'balanced') {
      while ((this.#byDepth[this.#shallowest]?.size ?? 0) === 0) this.#shallowest++;
      const leaf = this.#byDepth[this.#shallowest]?.pick(this.#random) as Leaf;
      if (!leaf.zone.canSplit)
        throw new CanError('ZONE_TOO_DEEP', 'every zone is as deep as the space allows');
      return leaf;
    }
    if (rule !== 'split' && rule !== 'uniform') {
      throw new CanError('INVALID_OPTION', `join rule must be one of ${JOIN_RULES.join(', ')}`);
    }
    for (let attempt = 0; attempt < MAX_JOIN_ATTEMPTS; attempt++) {
      const leaf =
        rule === 'split' ? (this.#leaves.pick(this.#random) as Leaf) : this.#leafAt(this.randomPoint());
      if (leaf.zone.canSplit || leaf.owner.zones.length > 1) return leaf;
    }
    throw new CanError('ZONE_TOO_DEEP', `${MAX_JOIN_ATTEMPTS} picks all landed on zones too deep to split`);
  }

  #neighbourEntries(peer: Peer): NeighbourZone<number>[] {
    const entries = this.#scratch;
    entries.length = 0;
    for (const leaf of peer.zones) {
      for (const neighbour of leaf.neighbours) if (neighbour.owner !== peer) entries.push(neighbour.entry);
    }
    return entries;
  }

  #addLeaf(leaf: Leaf): void {
    leaf.owner.hold(leaf);
    this.#leaves.add(leaf);
    const depth = leaf.zone.depth;
    (this.#byDepth[depth] ??= new IndexedSet<Leaf>()).add(leaf);
    if (depth < this.#shallowest) this.#shallowest = depth;
  }

  #removeLeaf(leaf: Leaf): void {
    leaf.owner.release(leaf);
    this.#leaves.delete(leaf);
    this.#byDepth[leaf.zone.depth]?.delete(leaf);
    // The trie node now belongs to the zones that replaced this one; its neighbours have forgotten it.
    if (leaf.node.leaf === leaf) leaf.node.leaf = undefined;
  }

  #transfer(leaf: Leaf, to: Peer): void {
    leaf.owner.release(leaf);
    leaf.setOwner(to);
    to.hold(leaf);
  }

  /**
   * Replaces `leaves` (the old zones) by `fresh`, as peers do: only the old zones' neighbours can neighbour the
   * fresh ones (and the fresh ones each other), so only they are checked.
   */
  #replace(leaves: readonly Leaf[], fresh: readonly Leaf[]): void {
    for (const leaf of fresh) this.#addLeaf(leaf);
    for (const old of leaves) {
      for (const candidate of old.neighbours) {
        if (leaves.includes(candidate)) continue;
        candidate.neighbours.delete(old);
        for (const leaf of fresh) if (areNeighbours(leaf.zone, candidate.zone)) link(leaf, candidate);
      }
    }
    for (const old of leaves) this.#removeLeaf(old);
    for (let i = 0; i < fresh.length; i++) {
      for (let j = i + 1; j < fresh.length; j++) {
        const a = fresh[i] as Leaf;
        const b = fresh[j] as Leaf;
        if (areNeighbours(a.zone, b.zone)) link(a, b);
      }
    }
  }

  /** The owner keeps the lower half; the newcomer takes the upper (spec §3). */
  #split(leaf: Leaf, newcomer: Peer): void {
    const [lower, upper] = leaf.zone.split();
    const node = leaf.node;
    node.lower = new TrieNode(node);
    node.upper = new TrieNode(node);
    const owner = leaf.owner;
    this.#replace([leaf], [new Leaf(lower, owner, node.lower), new Leaf(upper, newcomer, node.upper)]);
  }

  /**
   * Merges `leaf` with its sibling while that is possible without taking a peer's last zone: both halves held by
   * one peer, or one holder has another zone to keep. Repeats upwards, as each merge may free the next.
   */
  #settle(start: Leaf): void {
    let leaf = start;
    while (true) {
      const sibling = leaf.node.sibling()?.leaf;
      if (sibling === undefined) return;
      const a = leaf.owner;
      const b = sibling.owner;
      if (!a.alive || !b.alive) return;
      let keeper: Peer;
      if (a === b || b.zones.length > 1) keeper = a;
      else if (a.zones.length > 1) keeper = b;
      else return;
      const node = leaf.node.parent as TrieNode;
      node.lower = undefined;
      node.upper = undefined;
      const merged = new Leaf(leaf.zone.mergeWith(sibling.zone), keeper, node);
      this.#replace([leaf, sibling], [merged]);
      leaf = merged;
    }
  }
}

function link(a: Leaf, b: Leaf): void {
  a.neighbours.add(b);
  b.neighbours.add(a);
}
