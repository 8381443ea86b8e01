import { areNeighbours, type NeighbourZone, type Zone } from '@xpp/can';
import type { XppCall } from '@xpp/session-sdp';
import type { Contact } from '../values.js';

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
  link: XppCall | undefined;
  /** Who waits for the link to open (an announcement or a route chose this neighbour before its session was up). */
  waiters: ((link: XppCall | undefined) => void)[];
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
  upsert(info: {
    peerId: Uint8Array;
    zones: readonly Zone[];
    contact: Contact;
    version: number;
  }): Neighbour | undefined {
    const id = peerIdHex(info.peerId);
    const known = this.#entries.get(id);
    if (known !== undefined) {
      if (info.version < known.version) return undefined;
      known.zones = info.zones;
      known.contact = info.contact;
      known.version = info.version;
      return known;
    }
    if (this.#entries.size >= this.#max) return undefined;
    const entry: Neighbour = {
      id,
      peerId: info.peerId,
      zones: info.zones,
      contact: info.contact,
      version: info.version,
      link: undefined,
      waiters: [],
    };
    this.#entries.set(id, entry);
    return entry;
  }

  delete(id: string): Neighbour | undefined {
    const entry = this.#entries.get(id);
    this.#entries.delete(id);
    return entry;
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
