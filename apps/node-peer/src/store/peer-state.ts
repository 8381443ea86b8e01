import type { Database, Statement } from 'better-sqlite3';

/** One neighbour as persisted: its peer id, zone paths and (when known) SIP URI. */
export interface PersistedNeighbour {
  readonly id: string;
  readonly zones: readonly string[];
  readonly uri?: string;
}

/** What a peer keeps of its place in the overlay across a restart (schema v2, spec xpp-pcan §4). */
export interface PersistedPeerState {
  /** The overlay id in hex; absent for a data directory that has never been in an overlay. */
  readonly overlayId?: string;
  /** This peer's zone paths when last written. */
  readonly zones: readonly string[];
  /** The version of its last announcement: a restarted peer announces above it (0 when never written). */
  readonly version?: number;
  readonly neighbours: readonly PersistedNeighbour[];
}

/**
 * The `peer_state` and `neighbours` tables of the record store's file: read once at start, rewritten whole (one
 * transaction) when the overlay id, zones or neighbour table change — a few rows, not worth diffing.
 */
export class PeerStateTable {
  readonly #db: Database;
  readonly #put: Statement<[string, string]>;
  readonly #addNeighbour: Statement<[string, string, string | null]>;
  readonly #committed: () => void;

  /** `commit`: commits an open transaction the write joined (the record store's group of the turn). */
  constructor(db: Database, commit: () => void = () => undefined) {
    this.#db = db;
    this.#committed = commit;
    this.#put = db.prepare('INSERT OR REPLACE INTO peer_state (name, value) VALUES (?, ?)');
    this.#addNeighbour = db.prepare('INSERT OR REPLACE INTO neighbours (id, zones, uri) VALUES (?, ?, ?)');
  }

  read(): PersistedPeerState {
    const rows = this.#db
      .prepare<[], { name: string; value: string }>('SELECT name, value FROM peer_state')
      .all();
    const value = (name: string) => rows.find((r) => r.name === name)?.value;
    const overlayId = value('overlay_id');
    const neighbours = this.#db
      .prepare<[], { id: string; zones: string; uri: string | null }>('SELECT id, zones, uri FROM neighbours')
      .all()
      .map((n) => ({
        id: n.id,
        zones: JSON.parse(n.zones) as string[],
        ...(n.uri === null ? {} : { uri: n.uri }),
      }));
    return {
      ...(overlayId === undefined ? {} : { overlayId }),
      zones: JSON.parse(value('zones') ?? '[]') as string[],
      ...(value('version') === undefined ? {} : { version: Number(value('version')) }),
      neighbours,
    };
  }

  write(state: PersistedPeerState): void {
    this.#db.transaction(() => {
      if (state.overlayId !== undefined) this.#put.run('overlay_id', state.overlayId);
      this.#put.run('zones', JSON.stringify(state.zones));
      if (state.version !== undefined) this.#put.run('version', String(state.version));
      this.#db.exec('DELETE FROM neighbours');
      for (const n of state.neighbours) this.#addNeighbour.run(n.id, JSON.stringify(n.zones), n.uri ?? null);
    })();
    this.#committed();
  }
}
