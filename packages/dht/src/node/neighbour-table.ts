import { areNeighbours, type NeighbourZone, type Zone } from '@xpp/can';
import type { Clock } from '@xpp/reliability';
import type { XppCall } from '@xpp/session-sdp';
import { DhtError } from '../errors.js';
import type { Contact } from '../values.js';
import type { NeighbourSummary } from './types.js';

/**
 * A link to a neighbour: the XPP session and, when SIP set it up, its call (a BYE ends both). A session whose offer
 * and answer a common neighbour carried (RELAY-CONNECT, docs/decisions/dht-nat.md) has no SIP call; `relay` names
 * that neighbour when it also forwards the session's datagrams.
 */
export type Link = Omit<XppCall, 'call'> & {
  readonly call?: XppCall['call'];
  /** The neighbour forwarding the session's datagrams (a relayed link), if any. */
  readonly relay?: string;
};

/** A neighbour as this node knows it: its zones and contact from its latest announcement, and our link to it. */
export interface Neighbour {
  /** Lower-case hex of the peer id: the key of the table and the id routing breaks ties on. */
  readonly id: string;
  readonly peerId: Uint8Array;
  zones: readonly Zone[];
  contact: Contact;
  /** The announcement version these zones come from; older announcements are ignored. */
  version: number;
  /** The SIP dialog and XPP session to it, once open. */
  link: Link | undefined;
  /** Who waits for the link to open (an announcement or a route chose this neighbour before its session was up). */
  waiters: ((link: Link | undefined) => void)[];
  /** Its own neighbours, from its latest full NEIGHBOUR-UPDATE: whom to reach if it dies (spec §3 TAKEOVER). */
  peers: readonly PeerView[];
  /** A call to it being placed (at most one at a time). */
  connecting: Promise<void> | undefined;
  /** When it was last without a link (added, or its link ended), on the node's clock. */
  linklessSince: number;
  /** Calls to it that failed since it last had a link. */
  failedCalls: number;
}

/**
 * The open link to `n`, waiting (at most `timeout`) while its session is being set up: a neighbour announced a
 * moment ago calls in, or is called, concurrently with the first requests that need it.
 */
export function awaitLink(n: Neighbour, clock: Clock, timeout: number): Promise<Link> {
  if (n.link !== undefined && n.link.session.isOpen) return Promise.resolve(n.link);
  return new Promise<Link>((resolve, reject) => {
    const timer = clock.setTimer(() => {
      n.waiters = n.waiters.filter((w) => w !== wake);
      reject(new DhtError('NO_ROUTE', `no session to neighbour ${n.id}`));
    }, timeout);
    const wake = (link: Link | undefined) => {
      clock.clearTimer(timer);
      if (link === undefined) reject(new DhtError('NO_ROUTE', `neighbour ${n.id} is gone`));
      else resolve(link);
    };
    n.waiters.push(wake);
  });
}

/** `n` as `OverlayNode.neighbours()` lists it, with the figures of its XPP session when linked. */
export function neighbourSummary(n: Neighbour): NeighbourSummary {
  const session = n.link?.session;
  const channel = session?.isOpen === true ? session.stats.channel : undefined;
  return {
    id: n.id,
    zones: n.zones,
    uri: n.contact.uri,
    version: n.version,
    linked: channel !== undefined,
    ...(n.link?.relay === undefined ? {} : { relay: n.link.relay }),
    ...(channel?.srtt === undefined ? {} : { srttMs: channel.srtt }),
    retransmits: channel?.retransmits ?? 0,
  };
}

/** A peer as another peer announced it: enough to judge adjacency and to call it. */
export interface PeerView {
  readonly id: string;
  readonly peerId: Uint8Array;
  readonly zones: readonly Zone[];
  readonly contact: Contact;
  readonly version: number;
}

/**
 * Peers known to be gone (left, or dead and taken over) with the last announcement version seen from them, so
 * that an older announcement relayed by a neighbour that has not noticed yet cannot bring them back. Bounded: the
 * oldest entry goes first.
 */
export class Tombstones {
  readonly #entries = new Map<string, number>();
  readonly #max: number;

  constructor(max: number) {
    this.#max = max;
  }

  get size(): number {
    return this.#entries.size;
  }

  bury(id: string, version: number): void {
    remember(this.#entries, id, Math.max(version, this.#entries.get(id) ?? 0), this.#max);
  }

  clear(): void {
    this.#entries.clear();
  }

  unbury(id: string): void {
    this.#entries.delete(id);
  }

  /** True when an announcement of `id` at `version` is no newer than its tombstone. */
  buries(id: string, version: number): boolean {
    const known = this.#entries.get(id);
    return known !== undefined && version <= known;
  }
}

/** Sets `key` as the newest entry of `map`, dropping the oldest entry past `max` (a bounded memory). */
export function remember<K, V>(map: Map<K, V>, key: K, value: V, max: number): void {
  map.delete(key);
  map.set(key, value);
  if (map.size > max) {
    const oldest = map.keys().next();
    if (oldest.done !== true) map.delete(oldest.value);
  }
}

export function peerIdHex(peerId: Uint8Array): string {
  return Buffer.from(peerId).toString('hex');
}

/** True when some zone of `a` abuts some zone of `b` (spec xpp-pcan §2). */
export function adjacent(a: readonly Zone[], b: readonly Zone[]): boolean {
  return a.some((za) => b.some((zb) => areNeighbours(za, zb)));
}

/** The neighbours of one node, bounded; what greedy routing chooses among. */
export class NeighbourTable {
  readonly #entries = new Map<string, Neighbour>();
  readonly #max: number;
  #changes = 0;

  constructor(max: number) {
    this.#max = max;
  }

  get size(): number {
    return this.#entries.size;
  }

  get(id: string): Neighbour | undefined {
    return this.#entries.get(id);
  }

  values(): IterableIterator<Neighbour> {
    return this.#entries.values();
  }

  /**
   * Records an announcement. Returns the entry, or undefined when the table is full or the announcement is
   * older than what we have.
   */
  upsert(
    info: {
      peerId: Uint8Array;
      zones: readonly Zone[];
      contact: Contact;
      version: number;
    },
    now = 0,
  ): Neighbour | undefined {
    const id = peerIdHex(info.peerId);
    const known = this.#entries.get(id);
    if (known !== undefined) {
      if (info.version < known.version) return undefined;
      if (!sameZones(known.zones, info.zones)) this.#changes++;
      known.zones = info.zones;
      known.contact = info.contact;
      known.version = info.version;
      return known;
    }
    if (this.#entries.size >= this.#max) return undefined;
    const entry: Neighbour = {
      id,
      // A copy: an id decoded from a message is a view that would keep the whole message alive.
      peerId: info.peerId.slice(),
      zones: info.zones,
      contact: info.contact,
      version: info.version,
      link: undefined,
      waiters: [],
      peers: [],
      connecting: undefined,
      linklessSince: now,
      failedCalls: 0,
    };
    this.#entries.set(id, entry);
    this.#changes++;
    return entry;
  }

  delete(id: string): Neighbour | undefined {
    const entry = this.#entries.get(id);
    if (entry !== undefined) this.#changes++;
    this.#entries.delete(id);
    return entry;
  }

  /** Counts additions, removals and zone changes: a node re-announces and re-replicates when it moves. */
  get changes(): number {
    return this.#changes;
  }

  /**
   * One routing candidate per zone of every neighbour. A neighbour whose session is still being set up is a
   * candidate too: the router waits for its link rather than route around a hole.
   */
  routable(): NeighbourZone<string>[] {
    const out: NeighbourZone<string>[] = [];
    for (const n of this.#entries.values()) for (const zone of n.zones) out.push({ id: n.id, zone });
    return out;
  }

  adjacentTo(zones: readonly Zone[]): Neighbour[] {
    return [...this.#entries.values()].filter((n) => adjacent(n.zones, zones));
  }
}

function sameZones(a: readonly Zone[], b: readonly Zone[]): boolean {
  return a.length === b.length && a.every((z, i) => z.equals(b[i] as Zone));
}

function sameContact(a: Contact, b: Contact): boolean {
  return (
    a.uri === b.uri &&
    a.candidates.length === b.candidates.length &&
    a.candidates.every((c, i) => {
      const d = b.candidates[i];
      return d !== undefined && c.type === d.type && c.address === d.address && c.port === d.port;
    })
  );
}

/**
 * Returns, for each view given, an equal one (same announcement: id, version, zones, contact) already held in
 * `neighbours`' lists or given before, else the view itself. Neighbours list mostly the same peers, so each peer's
 * announcement is held once instead of once per neighbour that lists it (~40 views per peer at d = 4, issue #16).
 * Views are immutable, so sharing one changes nothing else.
 */
export function viewInterner(neighbours: Iterable<Neighbour>): (view: PeerView) => PeerView {
  const held = new Map<string, PeerView>();
  for (const n of neighbours) for (const p of n.peers) if (!held.has(p.id)) held.set(p.id, p);
  return (view) => {
    const known = held.get(view.id);
    if (
      known !== undefined &&
      known.version === view.version &&
      sameZones(known.zones, view.zones) &&
      sameContact(known.contact, view.contact)
    )
      return known;
    held.set(view.id, view);
    return view;
  };
}

/**
 * Keeps the announced lists of `neighbours` current with what this node has just learned of `view`, by geometry: a
 * peer whose zones abut a neighbour's is in that neighbour's list, one that does not (or owns nothing) is not. A
 * peer that announces its list to all its neighbours thus updates, at each of them, the lists of their other
 * neighbours too, which then need not re-announce the change (docs/decisions/dht-announcements.md). Older news
 * than a list holds is ignored; a list holds at most `max` peers.
 */
export function notePeer(neighbours: Iterable<Neighbour>, view: PeerView, max: number): void {
  for (const q of neighbours) {
    if (q.id === view.id) continue;
    const at = q.peers.findIndex((p) => p.id === view.id);
    const known = at < 0 ? undefined : q.peers[at];
    if (known !== undefined && known.version > view.version) continue;
    if (view.zones.length > 0 && adjacent(view.zones, q.zones)) {
      if (known !== undefined) q.peers = q.peers.map((p, i) => (i === at ? view : p));
      else if (q.peers.length < max) q.peers = [...q.peers, view];
    } else if (known !== undefined) q.peers = q.peers.filter((_, i) => i !== at);
  }
}
