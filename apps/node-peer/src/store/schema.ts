import type { Database } from 'better-sqlite3';
import { NodeError } from '../errors.js';
import { ROW_DIGEST_SQL } from './row-digest.js';

/** What a migration step may do to the database: run SQL (better-sqlite3's `Database` is one). */
export interface MigrationDatabase {
  exec(sql: string): unknown;
}

/** One step of the store's schema: from `version - 1` to `version`, run in one transaction. */
export interface Migration {
  readonly version: number;
  readonly description: string;
  readonly up: (db: MigrationDatabase) => void;
}

/**
 * The schema's history, oldest first; a new version appends a step and never edits an old one (a file made by any
 * earlier release migrates through every step after its own). Expiries are Unix milliseconds (wall clock): a
 * record must expire at the same moment after a restart as it would have without one.
 */
export const MIGRATIONS: readonly Migration[] = Object.freeze([
  {
    version: 1,
    // expires_at NULL: a record without lifetime (CREDENTIAL, REVOCATION); writer: the per-writer bounds' peer.
    description: 'records with their absolute expiry, role and writer',
    up: (db) => {
      db.exec(`
        CREATE TABLE records (
          kind INTEGER NOT NULL,
          key TEXT NOT NULL,
          subkey TEXT NOT NULL,
          value BLOB NOT NULL,
          expires_at INTEGER,
          replica INTEGER NOT NULL,
          writer TEXT,
          PRIMARY KEY (kind, key, subkey)
        ) WITHOUT ROWID;
      `);
    },
  },
  {
    version: 2,
    // What a restart needs to rejoin rather than fork (spec xpp-pcan §4): the overlay id and this peer's zones
    // (peer_state rows) and its neighbour table as last seen.
    description: 'overlay id, own zones and neighbour table',
    up: (db) => {
      db.exec(`
        CREATE TABLE peer_state (name TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
        CREATE TABLE neighbours (id TEXT PRIMARY KEY, zones TEXT NOT NULL, uri TEXT) WITHOUT ROWID;
      `);
    },
  },
  {
    version: 3,
    // A digest of each row's content, checked at load (row-digest.ts): a byte flipped inside a value fails the
    // start instead of being served. Rows already there get theirs from the SQL function the store registers.
    description: 'a digest of each record row',
    up: (db) => {
      db.exec(`
        ALTER TABLE records ADD COLUMN digest BLOB;
        UPDATE records SET digest = ${ROW_DIGEST_SQL}(kind, key, subkey, value, expires_at, writer);
      `);
    },
  },
]);

/** The version this code writes. */
export const SCHEMA_VERSION = MIGRATIONS.length;

const VERSION_TABLE = 'schema_version';

/** The schema version of an open database: 0 for a new, empty file. */
export function schemaVersion(db: Database, file: string): number {
  const tables = db
    .prepare<[], { name: string }>("SELECT name FROM sqlite_master WHERE type = 'table'")
    .all()
    .map((t) => t.name);
  if (!tables.includes(VERSION_TABLE)) {
    if (tables.length === 0) return 0;
    throw new NodeError(
      'STORE_SCHEMA',
      `${file} is an SQLite database but not an xpp-node record store (no ${VERSION_TABLE} table): move it away`,
    );
  }
  const row = db
    .prepare<[], { version: number | null }>(`SELECT MAX(version) AS version FROM ${VERSION_TABLE}`)
    .get();
  return row?.version ?? 0;
}

/**
 * Brings `db` to the newest version of `migrations`: each missing step in its own transaction, recorded in the
 * version table. A file newer than the code is refused rather than read: its records may mean what this code
 * cannot know (a downgrade must restore a backup, or start from an empty store and refill from the replicas).
 */
export function migrate(
  db: Database,
  file: string,
  migrations: readonly Migration[] = MIGRATIONS,
  wallNow: () => number = Date.now,
): { readonly from: number; readonly to: number } {
  const known = migrations.length;
  const from = schemaVersion(db, file);
  if (from > known) {
    throw new NodeError(
      'STORE_SCHEMA',
      `${file} has schema version ${from}, newer than the ${known} this xpp-node knows: ` +
        'run the release that wrote it, or move the file away to start from an empty store',
    );
  }
  db.exec(
    `CREATE TABLE IF NOT EXISTS ${VERSION_TABLE} (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)`,
  );
  const record = db.prepare(`INSERT INTO ${VERSION_TABLE} (version, applied_at) VALUES (?, ?)`);
  for (const step of migrations.slice(from)) {
    db.transaction(() => {
      step.up(db);
      record.run(step.version, wallNow());
    })();
  }
  return { from, to: known };
}
