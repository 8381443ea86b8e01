import type { NeighbourInfo } from '../values.js';

/** What one neighbour should be sent: the whole list, the entries it lacks, or nothing. */
export type PeerListShare = 'full' | readonly NeighbourInfo[];

interface PendingEntry {
  /** Recipients that heard of this change already (from the announcement this node learned it from). */
  readonly told: ReadonlySet<string>;
  /** The entry to send when it is no longer in the table (a pruned or departed neighbour). */
  readonly removed: NeighbourInfo | undefined;
}

const NOBODY: ReadonlySet<string> = new Set();

/**
 * The changes to this node's neighbour list that its neighbours have not heard yet (docs/decisions/
 * dht-announcements.md). A change of this node's own zones goes out as a full NEIGHBOUR-UPDATE to everyone at once;
 * a change of the list alone is sent as a PARTIAL update, and only to neighbours that did not hear of it from the
 * same announcement this node learned it from — a peer that listed the change to all its neighbours told most of
 * ours already. A new neighbour gets the whole list once (it has to rank this node's survivors should it die).
 * Bounded: past `max` pending changes the next announcement is a full one.
 */
export class PeerListDelta {
  readonly #pending = new Map<string, PendingEntry>();
  readonly #welcome = new Set<string>();
  readonly #max: number;
  #overflow = false;

  constructor(max: number) {
    this.#max = max;
  }

  /** True when some neighbour has not heard of some change. */
  get pending(): boolean {
    return this.#overflow || this.#pending.size > 0 || this.#welcome.size > 0;
  }

  /** True when the pending changes are too many to send as a delta. */
  get overflowed(): boolean {
    return this.#overflow;
  }

  /**
   * Notes a changed entry of the list: `id` added or moved (`removed` undefined: the table's entry is sent), or
   * gone from the list (`removed`: what to tell of it). `told`: who heard it already.
   */
  changed(id: string, told: ReadonlySet<string> = NOBODY, removed?: NeighbourInfo): void {
    this.#pending.delete(id);
    this.#pending.set(id, { told, removed });
    if (this.#pending.size > this.#max) this.#overflow = true;
  }

  /** A peer new to the list: it is sent the whole list with the next announcement. */
  welcome(id: string): void {
    this.#welcome.add(id);
    if (this.#welcome.size > this.#max) this.#overflow = true;
  }

  /** A full announcement went to every neighbour: nothing is pending any more. */
  clear(): void {
    this.#pending.clear();
    this.#welcome.clear();
    this.#overflow = false;
  }

  /**
   * Takes what each of `recipients` should be sent, and clears. `current(id)` is the table's entry of a neighbour
   * (undefined once it left the table).
   */
  take(
    recipients: readonly string[],
    current: (id: string) => NeighbourInfo | undefined,
  ): Map<string, PeerListShare> {
    const shares = new Map<string, PeerListShare>();
    if (this.#overflow) {
      for (const r of recipients) shares.set(r, 'full');
      this.clear();
      return shares;
    }
    const entries: { id: string; info: NeighbourInfo; told: ReadonlySet<string> }[] = [];
    for (const [id, p] of this.#pending) {
      const info = current(id) ?? p.removed;
      if (info !== undefined) entries.push({ id, info, told: p.told });
    }
    for (const r of recipients) {
      if (this.#welcome.has(r)) {
        shares.set(r, 'full');
        continue;
      }
      const lacking = entries.filter((e) => e.id !== r && !e.told.has(r)).map((e) => e.info);
      if (lacking.length > 0) shares.set(r, lacking);
    }
    this.clear();
    return shares;
  }
}
