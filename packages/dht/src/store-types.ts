import type { DhtErrorCode } from './errors.js';
import type { DhtError } from './errors.js';
import type { RecordKind } from './kinds.js';
import type { WireRecord } from './values.js';
import type { WriterRefusal } from './writer-quota.js';

// The types of the record store's seam (docs/decisions/dht-record-store-seam.md), shared by every store.
/** Whether this node holds a record as the owner of its key's point, or as a replica for the owner. */
export type RecordRole = 'primary' | 'replica';

/** A live record in a store. */
export interface StoredRecord {
  readonly kind: RecordKind;
  readonly key: string;
  /** Which value of the key: a binding's identity ({@link bindingSubkey}); empty for the other kinds. */
  readonly subkey: string;
  readonly value: Uint8Array;
  /** Milliseconds on the store's clock; `Infinity` for a record without lifetime (CREDENTIAL, REVOCATION). */
  readonly expiresAt: number;
  readonly role: RecordRole;
  /** The certified peer (id hex) that wrote it, counted in its per-writer bounds; undefined when not counted. */
  readonly writer?: string;
  /** SHA-256 of the UTF-8 key: `@xpp/can` reads the record's point from it (spec §2). */
  readonly keyDigest: Uint8Array;
}

export interface PutInput {
  readonly key: string;
  /** A record kind code; anything but BINDING / CREDENTIAL / PEER / REVOCATION is `UNKNOWN_KIND`. */
  readonly kind: number;
  readonly value: Uint8Array;
  /**
   * Seconds, ≥ 1; more than the store's `maxLifetime` is capped. Ignored for CREDENTIAL and REVOCATION, which
   * have none (a tombstone is kept `tombstoneRetention`).
   */
  readonly lifetime: number;
  /** Default `primary`. */
  readonly role?: RecordRole;
  /**
   * The certified peer (id hex) whose request this is — the verified origin of a routed write. Its records and
   * octets here are bounded (`maxRecordsPerWriter`, `maxOctetsPerWriter`); undefined = not counted per writer.
   */
  readonly writer?: string;
  /**
   * The caller hands `value` over and never touches it again: the store keeps it instead of a copy when it spans
   * its whole `ArrayBuffer` (a view into a larger one, such as a received message, is copied all the same so as not
   * to pin the rest). What a node loads from its own disk gives this; default false.
   */
  readonly owned?: boolean;
}

export interface PutResult {
  readonly record: StoredRecord;
  /**
   * Seconds granted (the request's, capped by `maxLifetime`): the PUT response's LIFETIME. {@link LASTING_LIFETIME}
   * for a record without lifetime; the retention for a tombstone.
   */
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

/** What `insert` stored and refused (one bad record does not stop the others). */
export interface InsertResult {
  readonly stored: number;
  readonly refused: readonly { record: WireRecord; error: DhtError }[];
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
  /** Every refusal by its code (e.g. `STALE_SERIAL`, `WRITER_QUOTA`, `STORE_FULL`). */
  readonly refusals: Readonly<Partial<Record<DhtErrorCode, number>>>;
  /** Refusals by a writer's bound: `writer-records` / `writer-octets`. */
  readonly writerRefusals: Readonly<Record<WriterRefusal, number>>;
}
