import type { Clock } from './clock.js';
import type { CredentialVerifier } from './credential.js';
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
}

/** The bounds a store enforces. */
export interface StoreLimits {
  readonly maxRecords: number;
  readonly maxOctets: number;
  readonly maxValueSize: number;
  readonly maxKeySize: number;
  readonly maxLifetime: number;
  readonly maxBindingsPerAor: number;
}

/** Default bounds of a store (README: "Bounds"). */
export const DEFAULT_STORE_LIMITS: StoreLimits = Object.freeze({
  maxRecords: 100_000,
  maxOctets: 64 * 1024 * 1024,
  maxValueSize: 64 * 1024,
  maxKeySize: MAX_KEY_SIZE,
  maxLifetime: 86_400,
  maxBindingsPerAor: 16,
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
