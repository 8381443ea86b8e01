import { createHash } from 'node:crypto';
import { WireError } from '@xpp/wire';
import type { Clock } from './clock.js';
import type { CredentialVerifier } from './credential.js';
import {
  DEFAULT_STORE_LIMITS,
  positiveInteger,
  RECORD_OVERHEAD,
  type RecordStoreOptions,
  type StoreLimits,
} from './store-limits.js';
import { DhtError } from './errors.js';
import { MinHeap } from './internal/min-heap.js';
import { parseRecordKind, RecordKind } from './kinds.js';
import { MAX_KEY_SIZE } from './limits.js';
import { bindingCodec, bindingSubkey, peerRecordCodec, type BindingId, type WireRecord } from './values.js';
import { decodeCredential } from './credential.js';

/** Whether this node holds a record as the owner of its key's point, or as a replica for the owner. */
export type RecordRole = 'primary' | 'replica';

/** A live record in a store. */
export interface StoredRecord {
  readonly kind: RecordKind;
  readonly key: string;
  /** Which value of the key: a binding's identity ({@link bindingSubkey}); empty for CREDENTIAL and PEER. */
  readonly subkey: string;
  readonly value: Uint8Array;
  /** Milliseconds on the store's clock. */
  readonly expiresAt: number;
  readonly role: RecordRole;
  /** SHA-256 of the UTF-8 key: `@xpp/can` reads the record's point from it (spec §2). */
  readonly keyDigest: Uint8Array;
}

export interface PutInput {
  readonly key: string;
  /** A record kind code; anything but BINDING / CREDENTIAL / PEER is `UNKNOWN_KIND`. */
  readonly kind: number;
  readonly value: Uint8Array;
  /** Seconds, ≥ 1; more than the store's `maxLifetime` is capped. */
  readonly lifetime: number;
  /** Default `primary`. */
  readonly role?: RecordRole;
}

export interface PutResult {
  readonly record: StoredRecord;
  /** Seconds granted (the request's, capped by `maxLifetime`): the PUT response's LIFETIME. */
  readonly lifetime: number;
}

/** Why a record left the store. */
export type RemoveReason = 'removed' | 'expired' | 'extracted';

/** What changed, for replication and bookkeeping (emitted after the change is made). */
export type StoreChange =
  | { readonly type: 'put'; readonly record: StoredRecord; readonly previous?: StoredRecord }
  | { readonly type: 'remove'; readonly record: StoredRecord; readonly reason: RemoveReason }
  | { readonly type: 'role'; readonly record: StoredRecord; readonly previous: RecordRole };

export type RecordPredicate = (record: StoredRecord) => boolean;

export {
  DEFAULT_STORE_LIMITS,
  RECORD_OVERHEAD,
  type RecordStoreOptions,
  type StoreLimits,
} from './store-limits.js';

/** What `insert` stored and refused (one bad record does not stop the others). */
export interface InsertResult {
  readonly stored: number;
  readonly refused: readonly { record: WireRecord; error: DhtError }[];
}

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
}

export interface StoreStats {
  readonly records: number;
  readonly octets: number;
  readonly primaries: number;
  readonly replicas: number;
  readonly expired: number;
  /** PUTs refused because a bound was reached (503). */
  readonly refusedFull: number;
  /** PUTs refused as invalid (400 / 403 / 409 / 413). */
  readonly refusedInvalid: number;
}

interface Group {
  readonly kind: RecordKind;
  readonly key: string;
  readonly keySize: number;
  readonly keyDigest: Uint8Array;
  readonly entries: Map<string, StoredRecord>;
}

function invalidValue(kind: string, cause: unknown): DhtError {
  if (DhtError.is(cause)) return cause;
  const why = WireError.is(cause) ? cause.message : String(cause);
  return new DhtError('INVALID_VALUE', `not a ${kind} value: ${why}`, { cause });
}

/**
 * A node's records (spec §4): kinds BINDING / CREDENTIAL / PEER, each with its own expiry on the injected clock,
 * bounded in records, octets, value size and lifetime. Expired records are never returned; `sweep()` frees them
 * (a full store sweeps before refusing). Pure: no timers, no I/O.
 */
export class MemoryRecordStore implements RecordStore {
  readonly #clock: Clock;
  readonly #limits: StoreLimits;
  readonly #verifyCredential: CredentialVerifier | undefined;
  // One index per kind code (1 BINDING, 2 CREDENTIAL, 3 PEER; 0 unused), keyed by the record key.
  readonly #groups: readonly Map<string, Group>[] = [new Map(), new Map(), new Map(), new Map()];
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

  constructor(options: RecordStoreOptions) {
    this.#clock = options.clock;
    const d = DEFAULT_STORE_LIMITS;
    this.#limits = {
      maxRecords: positiveInteger(options.maxRecords, d.maxRecords, 'maxRecords'),
      maxOctets: positiveInteger(options.maxOctets, d.maxOctets, 'maxOctets'),
      maxValueSize: positiveInteger(options.maxValueSize, d.maxValueSize, 'maxValueSize'),
      maxKeySize: Math.min(MAX_KEY_SIZE, positiveInteger(options.maxKeySize, d.maxKeySize, 'maxKeySize')),
      maxLifetime: positiveInteger(options.maxLifetime, d.maxLifetime, 'maxLifetime'),
      maxBindingsPerAor: positiveInteger(options.maxBindingsPerAor, d.maxBindingsPerAor, 'maxBindingsPerAor'),
    };
    this.#verifyCredential = options.verifyCredential;
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
   * CREDENTIAL_REFUSED, STALE_CREDENTIAL; STORE_FULL / TOO_MANY_BINDINGS when a bound is reached.
   */
  put(input: PutInput): PutResult {
    try {
      return this.#put(input);
    } catch (error) {
      if (DhtError.is(error)) {
        if (error.status === 503) this.#refusedFull++;
        else this.#refusedInvalid++;
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
    const subkey = this.#validate(kind, input.key, input.value);
    const lifetime = Math.min(input.lifetime, this.#limits.maxLifetime);
    const now = this.#clock.now();
    const index = this.#groups[kind] as Map<string, Group>;
    const stale = index.get(input.key);
    if (stale !== undefined) this.#expireGroup(stale, now);
    // Expiry may have emptied and dropped the group: look it up again.
    const group = index.get(input.key);
    const previous = group?.entries.get(subkey);
    if (kind === RecordKind.CREDENTIAL && previous !== undefined) this.#checkNewer(previous, input.value);
    this.#reserve(group, previous, keySize + subkey.length + input.value.length + RECORD_OVERHEAD, now);
    // A sweep in #reserve keeps `group` when it holds `previous`, and may drop it when it is empty.
    const target = index.get(input.key) ?? this.#newGroup(index, kind, input.key, keySize);
    if (previous !== undefined) this.#uncount(target, previous);
    const record: StoredRecord = {
      kind,
      key: input.key,
      subkey,
      // A copy: a decoded value is a view into a whole received message, which the store must not pin.
      value: input.value.slice(),
      expiresAt: now + lifetime * 1000,
      role: input.role ?? 'primary',
      keyDigest: target.keyDigest,
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

  /** Checks a value against its kind; returns its subkey. */
  #validate(kind: RecordKind, key: string, value: Uint8Array): string {
    switch (kind) {
      case RecordKind.BINDING:
        try {
          return bindingSubkey(bindingCodec.decode(value));
        } catch (cause) {
          throw invalidValue('BINDING', cause);
        }
      case RecordKind.CREDENTIAL:
        if (this.#verifyCredential === undefined) {
          throw new DhtError(
            'CREDENTIAL_REFUSED',
            'this store has no administrator key to verify credentials',
          );
        }
        this.#verifyCredential(key, value);
        return '';
      case RecordKind.PEER:
        try {
          peerRecordCodec.decode(value);
        } catch (cause) {
          throw invalidValue('PEER', cause);
        }
        return '';
    }
  }

  /** A replayed older credential must not undo the administrator's latest change (e.g. a new password). */
  #checkNewer(previous: StoredRecord, value: Uint8Array): void {
    const before = decodeCredential(previous.value).serial;
    const after = decodeCredential(value).serial;
    if (after < before) {
      throw new DhtError('STALE_CREDENTIAL', `credential serial ${after} is older than the stored ${before}`);
    }
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
      keyDigest: new Uint8Array(createHash('sha256').update(key, 'utf8').digest()),
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
    this.#octets += this.#sizeOf(record, group);
    if (record.role === 'replica') this.#replicas++;
  }

  /** Takes a record out of the counters; the caller replaces or deletes its entry. */
  #uncount(group: Group, record: StoredRecord): void {
    this.#records--;
    this.#octets -= this.#sizeOf(record, group);
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

  /** The record as sent to another peer: its remaining lifetime in whole seconds, rounded up. */
  toWire(record: StoredRecord): WireRecord {
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
