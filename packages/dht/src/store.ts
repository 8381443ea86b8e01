import { hash } from 'node:crypto';
import { WireError } from '@xpp/wire';
import type { Clock } from './clock.js';
import { CredentialBook, LASTING_LIFETIME } from './credential-book.js';
import { RECORD_OVERHEAD, storeLimits, type RecordStoreOptions, type StoreLimits } from './store-limits.js';
import { DhtError, type DhtErrorCode } from './errors.js';
import { MinHeap } from './internal/min-heap.js';
import { isLasting, parseRecordKind, RecordKind } from './kinds.js';
import { bindingCodec, bindingSubkey, peerRecordCodec, type BindingId, type WireRecord } from './values.js';
import { WriterQuota, type WriterRefusal } from './writer-quota.js';
import type {
  InsertResult,
  PutInput,
  PutResult,
  RecordPredicate,
  RecordRole,
  RemoveReason,
  StoreChange,
  StoredRecord,
  StoreStats,
} from './store-types.js';

export type * from './store-types.js';
export { LASTING_LIFETIME } from './credential-book.js';
export {
  DEFAULT_STORE_LIMITS,
  RECORD_OVERHEAD,
  type RecordStoreOptions,
  type StoreLimits,
} from './store-limits.js';

/**
 * A node's records, wherever they are kept (docs/decisions/dht-record-store-seam.md): the in-memory
 * {@link MemoryRecordStore} by default, a durable store behind the same methods. Synchronous: the node's
 * handlers and its routing decide on what the store answers within one turn.
 */
export interface RecordStore {
  readonly limits: Readonly<StoreLimits>;
  readonly stats: StoreStats;
  /** Calls `listener` after every change; returns the function that stops it. */
  onChange(listener: (change: StoreChange) => void): () => void;
  /** Stores a value (throws `DhtError` when it is refused). */
  put(input: PutInput): PutResult;
  /** The live records under (key, kind). */
  get(key: string, kind: number): StoredRecord[];
  /** Removes every record under (key, kind), or only the binding `bindingId`; returns how many went. */
  remove(key: string, kind: number, bindingId?: BindingId): number;
  /** Live records matching `predicate`. */
  select(predicate: RecordPredicate): StoredRecord[];
  /** Removes and returns the live records matching `predicate`. */
  extract(predicate: RecordPredicate): StoredRecord[];
  /** Sets the role of the matching records; returns how many changed. */
  setRole(predicate: RecordPredicate, role: RecordRole): number;
  /** Stores records received from another peer with their remaining lifetimes. */
  insert(records: readonly WireRecord[], role: RecordRole): InsertResult;
  /** The record as sent to another peer: its remaining lifetime in whole seconds, rounded up. */
  toWire(record: StoredRecord): WireRecord;
  /** Drops every expired record; returns how many. */
  sweep(): number;
  /**
   * A store that commits its changes later than it makes them (a group commit per event-loop turn) returns a promise
   * that settles once every change made so far is committed; it rejects when the commit failed. The node sends no
   * answer before it: nothing acknowledged (PUT 200, REGISTER-BIND) rests on an uncommitted change. Absent, or
   * returning nothing: every change is committed when the call that made it returns (the memory store's case).
   */
  durable?(): Promise<void> | void;
}

interface Group {
  readonly kind: RecordKind;
  readonly key: string;
  readonly keySize: number;
  readonly keyDigest: Uint8Array;
  readonly entries: Map<string, StoredRecord>;
}

/** `octets` is all of its `ArrayBuffer`: keeping it pins nothing else. */
function spansItsBuffer(octets: Uint8Array): boolean {
  return octets.byteOffset === 0 && octets.byteLength === octets.buffer.byteLength;
}

function invalidValue(kind: string, cause: unknown): DhtError {
  if (DhtError.is(cause)) return cause;
  const why = WireError.is(cause) ? cause.message : String(cause);
  return new DhtError('INVALID_VALUE', `not a ${kind} value: ${why}`, { cause });
}

/**
 * A node's records (spec §4): kinds BINDING / PEER, each with its own expiry on the injected clock, and CREDENTIAL /
 * REVOCATION without lifetime, kept until a higher serial replaces them (tombstones for `tombstoneRetention`; see
 * {@link CredentialBook}); bounded in records, octets, value size and lifetime, and per writing peer. Expired records
 * are never returned; `sweep()` frees them (a full store sweeps before refusing). Pure: no timers, no I/O.
 */
export class MemoryRecordStore implements RecordStore {
  readonly #clock: Clock;
  readonly #limits: StoreLimits;
  readonly #book: CredentialBook;
  readonly #writers: WriterQuota;
  // One index per kind code (1 BINDING, 2 CREDENTIAL, 3 PEER, 4 REVOCATION; 0 unused), keyed by the record key.
  readonly #groups: readonly Map<string, Group>[] = [new Map(), new Map(), new Map(), new Map(), new Map()];
  readonly #listeners = new Set<(change: StoreChange) => void>();
  // Earliest expiry first, so a sweep costs O(expired · log n), not a scan of the whole store: a full store
  // sweeps before refusing each PUT, and that must stay cheap under a flood.
  // Records themselves are the entries (no wrapper object per record); one that was replaced or removed is
  // stale and skipped when it comes up.
  readonly #expiries = new MinHeap<StoredRecord>((r) => r.expiresAt);
  #records = 0;
  #octets = 0;
  #replicas = 0;
  #expired = 0;
  #refusedFull = 0;
  #refusedInvalid = 0;
  readonly #refusals: Partial<Record<DhtErrorCode, number>> = {};
  readonly #writerRefusals: Record<WriterRefusal, number> = { 'writer-records': 0, 'writer-octets': 0 };

  constructor(options: RecordStoreOptions) {
    this.#clock = options.clock;
    this.#limits = storeLimits(options);
    this.#book = new CredentialBook(options);
    this.#writers = new WriterQuota(this.#limits.maxRecordsPerWriter, this.#limits.maxOctetsPerWriter);
  }

  get limits(): Readonly<StoreLimits> {
    return this.#limits;
  }

  get stats(): StoreStats {
    return {
      records: this.#records,
      octets: this.#octets,
      primaries: this.#records - this.#replicas,
      replicas: this.#replicas,
      expired: this.#expired,
      refusedFull: this.#refusedFull,
      refusedInvalid: this.#refusedInvalid,
      refusals: { ...this.#refusals },
      writerRefusals: { ...this.#writerRefusals },
    };
  }

  /**
   * Calls `listener` after every change; returns the function that stops it. A listener must not throw: its
   * exception reaches the caller of the operation, whose change is already made.
   */
  onChange(listener: (change: StoreChange) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /**
   * Stores a value (a BINDING replaces the binding with the same identity and keeps the AOR's others). Throws
   * `DhtError`: UNKNOWN_KIND, INVALID_KEY, INVALID_LIFETIME, INVALID_VALUE, VALUE_TOO_LARGE, BAD_SIGNATURE,
   * CREDENTIAL_REFUSED, STALE_SERIAL; STORE_FULL / TOO_MANY_BINDINGS / WRITER_QUOTA when a bound is reached.
   */
  put(input: PutInput): PutResult {
    try {
      return this.#put(input);
    } catch (error) {
      if (DhtError.is(error)) {
        if (error.status === 503) this.#refusedFull++;
        else this.#refusedInvalid++;
        this.#refusals[error.code] = (this.#refusals[error.code] ?? 0) + 1;
      }
      throw error;
    }
  }

  #put(input: PutInput): PutResult {
    const kind = parseRecordKind(input.kind);
    const keySize = this.#checkKey(input.key);
    if (!Number.isSafeInteger(input.lifetime) || input.lifetime < 1) {
      throw new DhtError(
        'INVALID_LIFETIME',
        `lifetime must be a whole number of seconds ≥ 1, got ${input.lifetime}`,
      );
    }
    if (input.value.length > this.#limits.maxValueSize) {
      throw new DhtError(
        'VALUE_TOO_LARGE',
        `value of ${input.value.length} octets exceeds ${this.#limits.maxValueSize}`,
      );
    }
    const lasting = isLasting(kind);
    const admin = lasting ? this.#book.check(kind, input.key, input.value) : undefined;
    const subkey = lasting ? '' : this.#validate(kind, input.value);
    const now = this.#clock.now();
    const index = this.#groups[kind] as Map<string, Group>;
    const stale = index.get(input.key);
    if (stale !== undefined) this.#expireGroup(stale, now);
    // Expiry may have emptied and dropped the group: look it up again.
    const group = index.get(input.key);
    const previous = group?.entries.get(subkey);
    // The very same signed octets again (a retry, a re-replication) keep their tombstone's time.
    const same =
      admin !== undefined &&
      previous !== undefined &&
      this.#book.same(kind, previous.value, input.value, admin.serial);
    const lifetime = !lasting
      ? Math.min(input.lifetime, this.#limits.maxLifetime)
      : admin?.tombstone === true
        ? this.#limits.tombstoneRetention
        : LASTING_LIFETIME;
    const expiresAt =
      same && previous !== undefined
        ? previous.expiresAt
        : lasting && admin?.tombstone !== true
          ? Infinity
          : now + lifetime * 1000;
    const size = keySize + subkey.length + input.value.length + RECORD_OVERHEAD;
    this.#checkWriter(input.writer, size, group, previous);
    this.#reserve(group, previous, size, now);
    // A sweep in #reserve keeps `group` when it holds `previous`, and may drop it when it is empty.
    const target = index.get(input.key) ?? this.#newGroup(index, kind, input.key, keySize);
    if (previous !== undefined) this.#uncount(target, previous);
    const record: StoredRecord = {
      kind,
      key: input.key,
      subkey,
      // A copy: a decoded value is a view into a whole received message, which the store must not pin.
      value: input.owned === true && spansItsBuffer(input.value) ? input.value : input.value.slice(),
      expiresAt,
      role: input.role ?? 'primary',
      keyDigest: target.keyDigest,
      ...(input.writer === undefined ? {} : { writer: input.writer }),
    };
    this.#attach(target, record);
    this.#scheduleExpiry(record);
    this.#emit(previous === undefined ? { type: 'put', record } : { type: 'put', record, previous });
    return { record, lifetime };
  }

  #checkKey(key: string): number {
    const size = Buffer.byteLength(key, 'utf8');
    if (size < 1 || size > this.#limits.maxKeySize) {
      throw new DhtError('INVALID_KEY', `key of ${size} octets is outside 1..${this.#limits.maxKeySize}`);
    }
    return size;
  }

  /** Checks a BINDING or PEER value; returns its subkey. */
  #validate(kind: RecordKind, value: Uint8Array): string {
    if (kind === RecordKind.BINDING) {
      try {
        return bindingSubkey(bindingCodec.decode(value));
      } catch (cause) {
        throw invalidValue('BINDING', cause);
      }
    }
    try {
      peerRecordCodec.decode(value);
    } catch (cause) {
      throw invalidValue('PEER', cause);
    }
    return '';
  }

  /** One writing peer may not fill the store (spec §5.6): its own records and octets are bounded. */
  #checkWriter(
    writer: string | undefined,
    size: number,
    group: Group | undefined,
    previous: StoredRecord | undefined,
  ): void {
    if (writer === undefined) return;
    const replaced =
      previous !== undefined && previous.writer === writer
        ? this.#sizeOf(previous, group as Group)
        : undefined;
    const why = this.#writers.check(writer, size, replaced);
    if (why === undefined) return;
    this.#writerRefusals[why]++;
    throw WriterQuota.error(writer, why, {
      records: this.#limits.maxRecordsPerWriter,
      octets: this.#limits.maxOctetsPerWriter,
    });
  }

  /** Makes room for a record of `size` octets (replacing `previous`), sweeping once before refusing. */
  #reserve(group: Group | undefined, previous: StoredRecord | undefined, size: number, now: number): void {
    const freed = previous === undefined ? 0 : this.#sizeOf(previous, group as Group);
    const added = previous === undefined ? 1 : 0;
    if (
      group !== undefined &&
      group.kind === RecordKind.BINDING &&
      added === 1 &&
      group.entries.size >= this.#limits.maxBindingsPerAor
    ) {
      throw new DhtError(
        'TOO_MANY_BINDINGS',
        `${group.key} already holds ${group.entries.size} bindings (bound ${this.#limits.maxBindingsPerAor})`,
      );
    }
    const fits = (): boolean =>
      this.#records + added <= this.#limits.maxRecords &&
      this.#octets - freed + size <= this.#limits.maxOctets;
    if (fits()) return;
    this.#sweep(now);
    if (fits()) return;
    throw new DhtError(
      'STORE_FULL',
      `store holds ${this.#records} records, ${this.#octets} octets (bounds ${this.#limits.maxRecords}, ${this.#limits.maxOctets})`,
    );
  }

  #newGroup(index: Map<string, Group>, kind: RecordKind, key: string, keySize: number): Group {
    const group: Group = {
      kind,
      key,
      keySize,
      // One call, no hash object: a restart makes 100,000 groups in a row (node-peer's store load).
      keyDigest: new Uint8Array(hash('sha256', key, 'buffer')),
      entries: new Map(),
    };
    index.set(key, group);
    return group;
  }

  #sizeOf(record: StoredRecord, group: Group): number {
    return group.keySize + record.subkey.length + record.value.length + RECORD_OVERHEAD;
  }

  #attach(group: Group, record: StoredRecord): void {
    group.entries.set(record.subkey, record);
    this.#records++;
    const size = this.#sizeOf(record, group);
    this.#octets += size;
    this.#writers.add(record.writer, size);
    if (record.role === 'replica') this.#replicas++;
  }

  /** Takes a record out of the counters; the caller replaces or deletes its entry. */
  #uncount(group: Group, record: StoredRecord): void {
    this.#records--;
    const size = this.#sizeOf(record, group);
    this.#octets -= size;
    this.#writers.release(record.writer, size);
    if (record.role === 'replica') this.#replicas--;
  }

  #detach(group: Group, record: StoredRecord): void {
    group.entries.delete(record.subkey);
    this.#uncount(group, record);
    if (group.entries.size === 0) this.#groupsOf(group.kind).delete(group.key);
  }

  #remove(group: Group, record: StoredRecord, reason: RemoveReason): void {
    this.#detach(group, record);
    if (reason === 'expired') this.#expired++;
    this.#emit({ type: 'remove', record, reason });
  }

  #expireGroup(group: Group, now: number): void {
    // Deleting the current entry while iterating a Map is safe and visits every other entry once.
    for (const record of group.entries.values()) {
      if (record.expiresAt <= now) this.#remove(group, record, 'expired');
    }
  }

  #groupsOf(kind: RecordKind): Map<string, Group> {
    return this.#groups[kind] as Map<string, Group>;
  }

  /** The group holding `record`, if `record` is still in the store (not replaced, removed or expired). */
  #holder(record: StoredRecord): Group | undefined {
    const group = this.#groupsOf(record.kind).get(record.key);
    return group?.entries.get(record.subkey) === record ? group : undefined;
  }

  #scheduleExpiry(record: StoredRecord): void {
    // A record without lifetime never comes up: keeping it out of the heap keeps the heap to what can expire.
    if (record.expiresAt === Infinity) return;
    this.#expiries.push(record);
    // Replacements leave stale entries behind; keep the heap within a constant factor of the records.
    if (this.#expiries.size > 2 * this.#records + 64)
      this.#expiries.retain((r) => this.#holder(r) !== undefined);
  }

  #sweep(now: number): number {
    const before = this.#expired;
    for (
      let next = this.#expiries.peek();
      next !== undefined && next.expiresAt <= now;
      next = this.#expiries.peek()
    ) {
      this.#expiries.pop();
      const group = this.#holder(next);
      if (group !== undefined) this.#remove(group, next, 'expired');
    }
    return this.#expired - before;
  }

  #emit(change: StoreChange): void {
    for (const listener of this.#listeners) listener(change);
  }

  /** The live records under (key, kind): every binding of an AOR, or the one CREDENTIAL / PEER value. */
  get(key: string, kind: number): StoredRecord[] {
    const group = this.#groupsOf(parseRecordKind(kind)).get(key);
    if (group === undefined) return [];
    this.#expireGroup(group, this.#clock.now());
    return [...group.entries.values()];
  }

  /** Removes every record under (key, kind), or only the binding `bindingId`; returns how many went. */
  remove(key: string, kind: number, bindingId?: BindingId): number {
    const group = this.#groupsOf(parseRecordKind(kind)).get(key);
    if (group === undefined) return 0;
    const targets =
      bindingId === undefined
        ? [...group.entries.values()]
        : [group.entries.get(bindingSubkey(bindingId))].filter((r) => r !== undefined);
    for (const record of targets) this.#remove(group, record, 'removed');
    return targets.length;
  }

  /** Live records matching `predicate` (e.g. "its point lies in this zone", for handoff and replication). */
  select(predicate: RecordPredicate): StoredRecord[] {
    const now = this.#clock.now();
    const out: StoredRecord[] = [];
    for (const index of this.#groups) {
      for (const group of index.values()) {
        for (const record of group.entries.values()) {
          if (record.expiresAt > now && predicate(record)) out.push(record);
        }
      }
    }
    return out;
  }

  /** Removes and returns the live records matching `predicate` (JOIN / LEAVE hand them to another peer). */
  extract(predicate: RecordPredicate): StoredRecord[] {
    const out = this.select(predicate);
    for (const record of out) {
      this.#remove(this.#holder(record) as Group, record, 'extracted');
    }
    return out;
  }

  /** Sets the role of the matching records (a taker promotes its replicas of the dead zone); returns how many changed. */
  setRole(predicate: RecordPredicate, role: RecordRole): number {
    let changed = 0;
    for (const record of this.select((r) => r.role !== role && predicate(r))) {
      const group = this.#holder(record) as Group;
      const updated: StoredRecord = { ...record, role };
      group.entries.set(record.subkey, updated);
      this.#scheduleExpiry(updated);
      this.#replicas += role === 'replica' ? 1 : -1;
      changed++;
      this.#emit({ type: 'role', record: updated, previous: record.role });
    }
    return changed;
  }

  /**
   * Stores records received in a handoff or replication with their remaining lifetimes. One bad or refused
   * record does not stop the others: the refusals are returned with their errors.
   */
  insert(records: readonly WireRecord[], role: RecordRole): InsertResult {
    let stored = 0;
    const refused: { record: WireRecord; error: DhtError }[] = [];
    for (const record of records) {
      if (record.lifetime === 0) continue;
      try {
        this.put({
          key: record.key,
          kind: record.kind,
          value: record.value,
          lifetime: record.lifetime,
          role,
        });
        stored++;
      } catch (error) {
        if (!DhtError.is(error)) throw error;
        refused.push({ record, error });
      }
    }
    return { stored, refused };
  }

  /**
   * The record as sent to another peer: its remaining lifetime in whole seconds, rounded up;
   * {@link LASTING_LIFETIME} for one without lifetime.
   */
  toWire(record: StoredRecord): WireRecord {
    if (record.expiresAt === Infinity)
      return { kind: record.kind, key: record.key, value: record.value, lifetime: LASTING_LIFETIME };
    const left = Math.max(0, Math.ceil((record.expiresAt - this.#clock.now()) / 1000));
    return { kind: record.kind, key: record.key, value: record.value, lifetime: left };
  }

  /** Drops every expired record; returns how many. A node calls it periodically. */
  sweep(): number {
    return this.#sweep(this.#clock.now());
  }
}

/**
 * @deprecated Use {@link MemoryRecordStore}; `RecordStore` is the interface now. Kept so that `new RecordStore(…)`
 * (public until the store became a seam) still builds the in-memory store.
 */
export const RecordStore = MemoryRecordStore;
