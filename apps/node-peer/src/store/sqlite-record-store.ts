import { chmodSync, closeSync, openSync } from 'node:fs';
import BetterSqlite3 from 'better-sqlite3';
import type { Database, Statement } from 'better-sqlite3';
import {
  DhtError,
  LASTING_LIFETIME,
  MemoryRecordStore,
  type BindingId,
  type Clock,
  type InsertResult,
  type PutInput,
  type PutResult,
  type RecordPredicate,
  type RecordRole,
  type RecordStore,
  type RecordStoreOptions,
  type StoreChange,
  type StoreLimits,
  type StoreStats,
  type StoredRecord,
  type WireRecord,
} from '@xpp/dht';
import { NodeError } from '../errors.js';
import { PeerStateTable } from './peer-state.js';
import { ROW_DIGEST_SQL, rowDigest } from './row-digest.js';
import { migrate, type Migration, MIGRATIONS } from './schema.js';

export interface SqliteRecordStoreOptions extends RecordStoreOptions {
  /** The database file (created 0600 when absent; `-wal` and `-shm` files beside it take the same mode). */
  readonly file: string;
  /** The schema's steps (tests give their own to exercise a migration). Default {@link MIGRATIONS}. */
  readonly migrations?: readonly Migration[];
}

/** What opening the file found. */
export interface SqliteLoadReport {
  /** Records loaded into memory. */
  readonly records: number;
  /** Rows dropped because they had expired while the peer was down. */
  readonly expired: number;
  /** Rows dropped because the store refuses them now (tighter bounds, a changed administrator key). */
  readonly refused: number;
  /** The schema version the file had (0: new file) and has now. */
  readonly schema: { readonly from: number; readonly to: number };
  /** Milliseconds the open took, integrity check and load included. */
  readonly ms: number;
}

/** A record row as SQLite returns it in raw mode, in the order the load selects its columns. */
type RowTuple = [
  kind: number,
  key: string,
  subkey: string,
  value: Buffer,
  expiresAt: number | null,
  replica: number,
  writer: string | null,
  /** NULL only in a file migrated by a test's own steps before v3 ran. */
  digest: Buffer | null,
];

/** Which row a refused record was. */
interface RowKey {
  readonly kind: number;
  readonly key: string;
  readonly subkey: string;
}

/** SQLite's result codes that mean "this file is not a sound database". */
const CORRUPT_CODES: ReadonlySet<string> = new Set([
  'SQLITE_CORRUPT',
  'SQLITE_NOTADB',
  'SQLITE_CORRUPT_VTAB',
]);

function sqliteCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('SQLITE_') ? code : undefined;
}

/** A typed error naming the file for anything SQLite throws; our own errors pass through. */
function storeError(file: string, error: unknown, doing: string): Error {
  if (NodeError.is(error) || DhtError.is(error)) return error;
  const code = sqliteCode(error);
  const why = error instanceof Error ? error.message : String(error);
  if (code !== undefined && CORRUPT_CODES.has(code)) {
    return new NodeError(
      'STORE_CORRUPT',
      `record store ${file} is damaged (${why}): the peer will not serve from it; move it away to start ` +
        'empty and refill from the replicas, or restore a copy',
      { cause: error },
    );
  }
  if (code === 'SQLITE_BUSY') {
    return new NodeError(
      'STORE_IO',
      `record store ${file} is in use by another process (another node on the same data directory?)`,
      { cause: error },
    );
  }
  return new NodeError('STORE_IO', `record store ${file}: ${doing} failed: ${why}`, { cause: error });
}

/**
 * A {@link RecordStore} whose records survive the process (docs/decisions/node-peer-durable-store.md). It answers
 * from an in-memory store — the same code, bounds and accounting as a `--memory` node — and writes every change
 * through to SQLite before the call returns. The writes of one event-loop turn are one transaction, committed at
 * the end of the turn (group commit); {@link SqliteRecordStore.durable} settles after that commit, and the node sends
 * no answer before it, so what the node acknowledges is committed: WAL with `synchronous=NORMAL` survives a kill -9
 * of the process (a power loss is covered by the replicas on other hosts). Each mutating call is a savepoint within
 * the turn's transaction: it takes effect whole or not at all.
 *
 * Expiries are kept on the wall clock (Unix ms), so a record expires at the same moment after a restart as without
 * one; in memory they stay on the monotonic clock as the node expects. A reload grants the whole seconds left,
 * rounded up — as a handoff to another peer does.
 */
export class SqliteRecordStore implements RecordStore {
  readonly file: string;
  readonly loaded: SqliteLoadReport;
  #peerState: PeerStateTable | undefined;
  readonly #clock: Clock;
  readonly #db: Database;
  readonly #memory: MemoryRecordStore;
  readonly #upsert: Statement<
    [number, string, string, Uint8Array, number | null, number, string | null, Buffer]
  >;
  readonly #delete: Statement<[number, string, string]>;
  readonly #setReplica: Statement<[number, number, string, string]>;
  readonly #transaction: (run: () => unknown) => unknown;
  #loading = true;
  #closed = false;
  /** The open group: settled by its commit at the end of the turn. */
  #group: { readonly committed: Promise<void>; settle(error?: Error): void } | undefined;
  /** A commit failed: memory may hold changes the file lacks, so the store refuses every change after it. */
  #failed: Error | undefined;

  /** The overlay id, zones and neighbour table kept beside the records (schema v2); made on first use. */
  get peerState(): PeerStateTable {
    // Written rarely and read at the next start only: committed at once, with whatever the open group holds.
    this.#peerState ??= new PeerStateTable(this.#db, () => this.#commit());
    return this.#peerState;
  }

  /** Opens (or creates) `options.file`; throws `NodeError` STORE_CORRUPT / STORE_SCHEMA / STORE_IO naming it. */

  static open(options: SqliteRecordStoreOptions): SqliteRecordStore {
    return new SqliteRecordStore(options);
  }

  private constructor(options: SqliteRecordStoreOptions) {
    const started = performance.now();
    this.file = options.file;
    this.#clock = options.clock;
    this.#memory = new MemoryRecordStore(options);
    this.#db = openDatabase(options.file);
    try {
      const schema = migrate(this.#db, this.file, options.migrations ?? MIGRATIONS, () =>
        options.clock.wallNow(),
      );
      this.#upsert = this.#db.prepare(
        'INSERT OR REPLACE INTO records (kind, key, subkey, value, expires_at, replica, writer, digest) ' +
          'VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
      );
      this.#delete = this.#db.prepare('DELETE FROM records WHERE kind = ? AND key = ? AND subkey = ?');
      this.#setReplica = this.#db.prepare(
        'UPDATE records SET replica = ? WHERE kind = ? AND key = ? AND subkey = ?',
      );
      this.#transaction = this.#db.transaction((run: () => unknown) => run());
      // First listener: the row is written before anyone else hears of the change.
      this.#memory.onChange((change) => this.#write(change));
      const counts = this.#load();
      this.loaded = { ...counts, schema, ms: performance.now() - started };
    } catch (error) {
      this.#db.close();
      throw storeError(this.file, error, 'opening');
    } finally {
      this.#loading = false;
    }
  }

  /** Reads every row into memory; drops the expired and the refused ones from the file. */
  #load(): { records: number; expired: number; refused: number } {
    const wallNow = this.#clock.wallNow();
    const expired = this.#db.prepare('DELETE FROM records WHERE expires_at <= ?').run(wallNow).changes;
    let records = 0;
    const refusedRows: RowKey[] = [];
    // Row by row as SQLite steps, not `.all()`: a row's buffers die young instead of 100,000 of them being
    // promoted at once (a third of a start went to the garbage collector, node-peer-durable-store.md).
    const rows = this.#db
      .prepare<[], RowTuple>(
        'SELECT kind, key, subkey, value, expires_at, replica, writer, digest FROM records',
      )
      .raw(true)
      .iterate();
    for (const [kind, key, subkey, value, expiresAt, replica, writer, digest] of rows) {
      if (digest === null || !rowDigest(kind, key, subkey, value, expiresAt, writer).equals(digest)) {
        // Not dropped and started without: the row may be the only copy the overlay acknowledged. The operator
        // decides (move the file away and refill from the replicas, or restore a copy).
        throw Object.assign(
          new Error(`record ${key} (kind ${kind}) does not match its digest: its octets changed on disk`),
          { code: 'SQLITE_CORRUPT' },
        );
      }
      try {
        this.#memory.put({
          key,
          kind,
          // A plain Uint8Array over the row's own octets (records hold Uint8Arrays, not Buffers), handed over: the
          // memory store keeps it rather than copying 100,000 values at a start.
          value: new Uint8Array(value.buffer, value.byteOffset, value.length),
          owned: true,
          // A record without lifetime ignores it; a tombstone is granted its whole retention again.
          lifetime: expiresAt === null ? LASTING_LIFETIME : Math.ceil((expiresAt - wallNow) / 1000),
          role: replica === 1 ? 'replica' : 'primary',
          ...(writer === null ? {} : { writer }),
        });
        records++;
      } catch (error) {
        if (!DhtError.is(error)) throw error;
        refusedRows.push({ kind, key, subkey });
      }
    }
    this.#db.transaction(() => {
      for (const row of refusedRows) this.#delete.run(row.kind, row.key, row.subkey);
    })();
    return { records, expired, refused: refusedRows.length };
  }

  #write(change: StoreChange): void {
    if (this.#loading) return;
    const r = change.record;
    try {
      if (change.type === 'put') {
        const wallExpiry =
          r.expiresAt === Infinity
            ? null
            : Math.round(r.expiresAt - this.#clock.now() + this.#clock.wallNow());
        const replica = r.role === 'replica' ? 1 : 0;
        const writer = r.writer ?? null;
        const digest = rowDigest(r.kind, r.key, r.subkey, r.value, wallExpiry, writer);
        this.#upsert.run(r.kind, r.key, r.subkey, r.value, wallExpiry, replica, writer, digest);
      } else if (change.type === 'remove') this.#delete.run(r.kind, r.key, r.subkey);
      else this.#setReplica.run(r.role === 'replica' ? 1 : 0, r.kind, r.key, r.subkey);
    } catch (error) {
      throw storeError(this.file, error, 'writing');
    }
  }

  /**
   * Runs a mutating call as a savepoint of the turn's transaction (opened here when none is): its changes take effect
   * together or not at all, and are committed with the rest of the turn's at its end.
   */
  #atomic<T>(run: () => T): T {
    if (this.#closed) throw new NodeError('STORE_IO', `record store ${this.file} is closed`);
    if (this.#failed !== undefined) throw this.#failed;
    if (this.#group === undefined) this.#open();
    // A refusal (DhtError) is an answer, not a failure: what the call changed before refusing (expired records
    // swept to make room) is committed, and the refusal thrown after the commit. A write failure rolls back.
    let refusal: DhtError | undefined;
    const result = this.#transaction(() => {
      try {
        return run();
      } catch (error) {
        if (!DhtError.is(error)) throw error;
        refusal = error;
        return undefined;
      }
    }) as T;
    if (refusal !== undefined) throw refusal;
    return result;
  }

  get limits(): Readonly<StoreLimits> {
    return this.#memory.limits;
  }

  get stats(): StoreStats {
    return this.#memory.stats;
  }

  onChange(listener: (change: StoreChange) => void): () => void {
    return this.#memory.onChange(listener);
  }

  put(input: PutInput): PutResult {
    return this.#atomic(() => this.#memory.put(input));
  }

  get(key: string, kind: number): StoredRecord[] {
    return this.#memory.get(key, kind);
  }

  remove(key: string, kind: number, bindingId?: BindingId): number {
    return this.#atomic(() => this.#memory.remove(key, kind, bindingId));
  }

  select(predicate: RecordPredicate): StoredRecord[] {
    return this.#memory.select(predicate);
  }

  extract(predicate: RecordPredicate): StoredRecord[] {
    return this.#atomic(() => this.#memory.extract(predicate));
  }

  setRole(predicate: RecordPredicate, role: RecordRole): number {
    return this.#atomic(() => this.#memory.setRole(predicate, role));
  }

  insert(records: readonly WireRecord[], role: RecordRole): InsertResult {
    return this.#atomic(() => this.#memory.insert(records, role));
  }

  toWire(record: StoredRecord): WireRecord {
    return this.#memory.toWire(record);
  }

  sweep(): number {
    return this.#atomic(() => this.#memory.sweep());
  }

  /**
   * Settles once every change made so far is committed (at the end of the turn that made it); nothing when there is
   * none to wait for. Rejects with `STORE_IO` when the commit failed.
   */
  durable(): Promise<void> | undefined {
    if (this.#failed !== undefined) return Promise.reject(this.#failed);
    return this.#group?.committed;
  }

  /** Opens the turn's transaction; it is committed once the turn's I/O callbacks have run (setImmediate). */
  #open(): void {
    let settle!: (error?: Error) => void;
    const committed = new Promise<void>((resolve, reject) => {
      settle = (error) => (error === undefined ? resolve() : reject(error));
    });
    // Nobody may be waiting (a write no answer depends on, a timer's sweep): a failure is still kept in #failed.
    committed.catch(() => undefined);
    this.#group = { committed, settle };
    this.#db.exec('BEGIN');
    setImmediate(() => this.#commit());
  }

  /** Commits the open group, if any, and settles its waiters. */
  #commit(): void {
    const group = this.#group;
    if (group === undefined) return;
    this.#group = undefined;
    try {
      this.#db.exec('COMMIT');
      group.settle();
    } catch (error) {
      this.#failed = storeError(this.file, error, 'committing');
      if (this.#db.inTransaction) this.#db.exec('ROLLBACK');
      group.settle(this.#failed);
    }
  }

  /** Commits what is pending, checkpoints the WAL into the file and closes it; every change is refused after. */
  close(): void {
    if (this.#closed) return;
    this.#commit();
    this.#closed = true;
    this.#db.close();
  }
}

/**
 * Opens the file with the durability settings of docs/decisions/node-peer-durable-store.md and checks it is a
 * sound database before anything is read from it.
 */
function openDatabase(file: string): Database {
  let db: Database | undefined;
  try {
    // Created 0600 before SQLite opens it: it holds credentials' HA1s. SQLite gives -wal and -shm the same mode.
    closeSync(openSync(file, 'a', 0o600));
    chmodSync(file, 0o600);
    db = new BetterSqlite3(file);
    // For migration v3, which gives the rows already there their digest.
    db.function(ROW_DIGEST_SQL, { deterministic: true }, (kind, key, subkey, value, expiresAt, writer) =>
      rowDigest(
        Number(kind),
        String(key),
        String(subkey),
        value as Uint8Array,
        expiresAt === null ? null : Number(expiresAt),
        writer === null ? null : String(writer),
      ),
    );
    // One process owns the file (a second node on the same data directory is refused, SQLITE_BUSY), and it
    // takes no file locks per transaction (up to a third of a commit's cost, node-peer-durable-store.md).
    db.pragma('locking_mode = EXCLUSIVE');
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    const check = db.pragma('quick_check', { simple: true });
    if (check !== 'ok') {
      throw Object.assign(new Error(`integrity check: ${String(check)}`), { code: 'SQLITE_CORRUPT' });
    }
    return db;
  } catch (error) {
    db?.close();
    throw storeError(file, error, 'opening');
  }
}
