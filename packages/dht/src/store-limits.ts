import type { Clock } from './clock.js';
import type { CredentialVerifier } from './credential.js';
import type { RevocationVerifier } from './credential-book.js';
import type { RemovalVerifier } from './credential-record.js';
import { DhtError } from './errors.js';
import { MAX_KEY_SIZE } from './limits.js';

export interface RecordStoreOptions {
  readonly clock: Clock;
  /** Records (each binding counts as one). Default {@link DEFAULT_STORE_LIMITS}.maxRecords. */
  readonly maxRecords?: number;
  /** Octets of keys, values and per-record overhead together. */
  readonly maxOctets?: number;
  /** Octets of one value. */
  readonly maxValueSize?: number;
  /** Octets of one UTF-8 key (at most the wire's 1024). */
  readonly maxKeySize?: number;
  /** Seconds; longer lifetimes are capped to it. */
  readonly maxLifetime?: number;
  /** Bindings one AOR may hold. */
  readonly maxBindingsPerAor?: number;
  /**
   * Checks CREDENTIAL records (administrator signature, key = AOR): `createCredentialVerifier(adminPublicKey)`.
   * Without it every CREDENTIAL is refused (`CREDENTIAL_REFUSED`): a peer never holds an unverified credential.
   */
  readonly verifyCredential?: CredentialVerifier;
  /**
   * Checks CREDENTIAL tombstones (`createRemovalVerifier(adminPublicKey)`). Without it every tombstone is refused
   * (`CREDENTIAL_REFUSED`).
   */
  readonly verifyCredentialRemoval?: RemovalVerifier;
  /** Checks REVOCATION records (administrator signature). Without it every REVOCATION is refused. */
  readonly verifyRevocation?: RevocationVerifier;
  /** Records one writing peer may hold here. Default a quarter of `maxRecords`. */
  readonly maxRecordsPerWriter?: number;
  /** Octets one writing peer may hold here. Default a quarter of `maxOctets`. */
  readonly maxOctetsPerWriter?: number;
  /** Seconds a CREDENTIAL tombstone is kept (spec §5.6: at least 30 days). Default 30 days. */
  readonly tombstoneRetention?: number;
}

/** The bounds a store enforces. */
export interface StoreLimits {
  readonly maxRecords: number;
  readonly maxOctets: number;
  readonly maxValueSize: number;
  readonly maxKeySize: number;
  readonly maxLifetime: number;
  readonly maxBindingsPerAor: number;
  readonly maxRecordsPerWriter: number;
  readonly maxOctetsPerWriter: number;
  readonly tombstoneRetention: number;
}

/** Default bounds of a store (README: "Bounds"). */
export const DEFAULT_STORE_LIMITS: StoreLimits = Object.freeze({
  maxRecords: 100_000,
  maxOctets: 64 * 1024 * 1024,
  maxValueSize: 64 * 1024,
  maxKeySize: MAX_KEY_SIZE,
  maxLifetime: 86_400,
  maxBindingsPerAor: 16,
  maxRecordsPerWriter: 25_000,
  maxOctetsPerWriter: 16 * 1024 * 1024,
  tombstoneRetention: 30 * 86_400,
});

/** Octets charged per record on top of its key, subkey and value (maps, object headers). */
export const RECORD_OVERHEAD = 128;

/** A bound as given, or its default; a positive integer. */
export function positiveInteger(value: number | undefined, fallback: number, name: string): number {
  const v = value ?? fallback;
  if (!Number.isSafeInteger(v) || v < 1) {
    throw new DhtError('INVALID_ARGUMENT', `${name} must be a positive integer, got ${String(v)}`);
  }
  return v;
}

/** The bounds of `options`, defaults filled in (a writer's default: a quarter of the store's bounds). */
export function storeLimits(options: Omit<RecordStoreOptions, 'clock'>): StoreLimits {
  const d = DEFAULT_STORE_LIMITS;
  const maxRecords = positiveInteger(options.maxRecords, d.maxRecords, 'maxRecords');
  const maxOctets = positiveInteger(options.maxOctets, d.maxOctets, 'maxOctets');
  return {
    maxRecords,
    maxOctets,
    maxValueSize: positiveInteger(options.maxValueSize, d.maxValueSize, 'maxValueSize'),
    maxKeySize: Math.min(MAX_KEY_SIZE, positiveInteger(options.maxKeySize, d.maxKeySize, 'maxKeySize')),
    maxLifetime: positiveInteger(options.maxLifetime, d.maxLifetime, 'maxLifetime'),
    maxBindingsPerAor: positiveInteger(options.maxBindingsPerAor, d.maxBindingsPerAor, 'maxBindingsPerAor'),
    maxRecordsPerWriter: positiveInteger(
      options.maxRecordsPerWriter,
      Math.max(1, Math.floor(maxRecords / 4)),
      'maxRecordsPerWriter',
    ),
    maxOctetsPerWriter: positiveInteger(
      options.maxOctetsPerWriter,
      Math.max(1, Math.floor(maxOctets / 4)),
      'maxOctetsPerWriter',
    ),
    tombstoneRetention: positiveInteger(
      options.tombstoneRetention,
      d.tombstoneRetention,
      'tombstoneRetention',
    ),
  };
}
