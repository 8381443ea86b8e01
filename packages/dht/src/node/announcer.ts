import type { Message, XppOption } from '@xpp/wire';
import { encodeNeighbourUpdate } from '../messages.js';
import { DhtOperation } from '../operations.js';
import type { NeighbourInfo } from '../values.js';
import type { Neighbour, NeighbourTable } from './neighbour-table.js';
import type { PeerListDelta } from './peer-list-delta.js';

/** What an announcer needs of its node: its table, the changes of it not announced yet, and a request. */
export interface AnnouncerContext {
  readonly neighbours: NeighbourTable;
  /** Changes of the neighbour list not announced yet. */
  readonly delta: PeerListDelta;
  /** The node's own entry as it stands now. */
  self(): NeighbourInfo;
  encode(n: Neighbour): NeighbourInfo;
  /** A request to neighbour `n` over its current link. */
  request(n: Neighbour, type: number, options: readonly XppOption[]): Promise<Message>;
}

/**
 * Tells a node's neighbours of its zones and of its neighbour list (NEIGHBOUR-UPDATE, spec §3): the whole list when
 * its zones changed, else only the changes each neighbour has not heard of (docs/decisions/dht-announcements.md).
 */
export class Announcer {
  readonly #ctx: AnnouncerContext;
  /** The node's version the last full NEIGHBOUR-UPDATE told (-1: one is due). */
  #announcedVersion = -1;

  constructor(ctx: AnnouncerContext) {
    this.#ctx = ctx;
  }

  /** Whether the node at `version` owes its neighbours a full list rather than the changes. */
  due(version: number): boolean {
    return this.#announcedVersion !== version || this.#ctx.delta.overflowed;
  }

  /** Makes the next announcement a full one (the periodic refresh). */
  expire(): void {
    this.#announcedVersion = -1;
  }

  /** Sends a full NEIGHBOUR-UPDATE — the node at `version` first, then every neighbour — to all but `except`. */
  async announce(version: number, except?: string): Promise<void> {
    this.#announcedVersion = version;
    this.#ctx.delta.clear();
    const options = this.#fullUpdate();
    await Promise.allSettled(
      [...this.#ctx.neighbours.values()]
        .filter((n) => n.id !== except)
        .map(async (n) => this.#ctx.request(n, DhtOperation.NEIGHBOUR_UPDATE.type, options)),
    );
  }

  /**
   * Sends each neighbour the changes of this node's list it has not heard of (PARTIAL), or the whole list to a new
   * neighbour; this node's own zones are unchanged (docs/decisions/dht-announcements.md).
   */
  async announceDelta(): Promise<void> {
    const { neighbours } = this.#ctx;
    const shares = this.#ctx.delta.take(
      [...neighbours.values()].map((n) => n.id),
      (id) => {
        const n = neighbours.get(id);
        return n === undefined ? undefined : this.#ctx.encode(n);
      },
    );
    let full: XppOption[] | undefined;
    await Promise.allSettled(
      [...shares].map(async ([id, share]) => {
        const n = neighbours.get(id);
        if (n === undefined) return;
        const options =
          share === 'full'
            ? (full ??= this.#fullUpdate())
            : encodeNeighbourUpdate({ neighbours: [this.#ctx.self(), ...share], partial: true });
        await this.#ctx.request(n, DhtOperation.NEIGHBOUR_UPDATE.type, options);
      }),
    );
  }

  /** A PARTIAL NEIGHBOUR-UPDATE: this node, then `neighbours` only. */
  partialUpdate(neighbours: readonly Neighbour[] = []): XppOption[] {
    return encodeNeighbourUpdate({
      neighbours: [this.#ctx.self(), ...neighbours.map((n) => this.#ctx.encode(n))],
      partial: true,
    });
  }

  /** A full NEIGHBOUR-UPDATE: this node, then every neighbour. */
  #fullUpdate(): XppOption[] {
    return encodeNeighbourUpdate({
      neighbours: [this.#ctx.self(), ...[...this.#ctx.neighbours.values()].map((n) => this.#ctx.encode(n))],
    });
  }
}
