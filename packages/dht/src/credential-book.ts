import { WireError } from '@xpp/wire';
import type { CredentialVerifier } from './credential.js';
import { decodeCredentialRecord, type RemovalVerifier } from './credential-record.js';
import { DhtError } from './errors.js';
import { RecordKind } from './kinds.js';

/** Checks a REVOCATION record (administrator signature, key = `revoked:<peer id hex>`); throws `DhtError`. */
export type RevocationVerifier = (key: string, value: Uint8Array) => void;

/** The signature checks of the records only the administrator writes (spec §5.6). */
export interface AdminRecordChecks {
  readonly verifyCredential?: CredentialVerifier | undefined;
  readonly verifyCredentialRemoval?: RemovalVerifier | undefined;
  readonly verifyRevocation?: RevocationVerifier | undefined;
}

/** A checked CREDENTIAL or REVOCATION value: its serial (0 for a revocation) and whether it is a tombstone. */
export interface AdminRecord {
  readonly serial: number;
  readonly tombstone: boolean;
}

/** Minimum days a tombstone is kept (spec §5.6): an older credential cannot come back while its holders remember. */
export const DEFAULT_TOMBSTONE_RETENTION = 30 * 86_400;

/** The `lifetime` a record without one is reported and sent with (u32 maximum; never counted down). */
export const LASTING_LIFETIME = 0xffff_ffff;

function refused(what: string): DhtError {
  return new DhtError('CREDENTIAL_REFUSED', `this store has no administrator key to verify ${what}`);
}

/**
 * The rules for the records only the administrator writes (spec §5.6): CREDENTIAL values (a signed credential or
 * a signed tombstone) and REVOCATIONs. Holders keep the highest serial per AOR, so a replayed older credential —
 * by PUT, REPLICATE or a zone hand-over alike — never undoes the administrator's latest change.
 */
export class CredentialBook {
  readonly #checks: AdminRecordChecks;

  constructor(checks: AdminRecordChecks) {
    this.#checks = checks;
  }

  /** Verifies a CREDENTIAL or REVOCATION value for `key`; throws `DhtError` when it may not be stored. */
  check(kind: RecordKind, key: string, value: Uint8Array): AdminRecord {
    if (kind === RecordKind.REVOCATION) {
      if (this.#checks.verifyRevocation === undefined) throw refused('revocations');
      this.#checks.verifyRevocation(key, value);
      return { serial: 0, tombstone: false };
    }
    const read = this.#read(value);
    if (read.type === 'public')
      throw new DhtError('INVALID_VALUE', 'the public view of a credential is not a credential');
    if (read.type === 'credential') {
      if (this.#checks.verifyCredential === undefined) throw refused('credentials');
      return { serial: this.#checks.verifyCredential(key, value).serial, tombstone: false };
    }
    if (this.#checks.verifyCredentialRemoval === undefined) throw refused('credential removals');
    return { serial: this.#checks.verifyCredentialRemoval(key, read.removal).serial, tombstone: true };
  }

  /**
   * Whether `value` (already checked, with `serial`) may replace the stored `previous`: true when it is the very same
   * octets (a retry, a re-replication: nothing changes), false when it is newer; `STALE_SERIAL` otherwise — an equal
   * serial with other octets, a lower one, or a second, different revocation of a peer.
   */
  same(kind: RecordKind, previous: Uint8Array, value: Uint8Array, serial: number): boolean {
    if (Buffer.compare(previous, value) === 0) return true;
    if (kind === RecordKind.REVOCATION)
      throw new DhtError('STALE_SERIAL', 'this peer is revoked already by another revocation');
    const before = this.serialOf(previous);
    if (serial <= before)
      throw new DhtError('STALE_SERIAL', `serial ${serial} is not above the stored ${before}`);
    return false;
  }

  /** The serial of a stored CREDENTIAL value (it was checked when stored). */
  serialOf(value: Uint8Array): number {
    const read = this.#read(value);
    return read.type === 'credential'
      ? read.credential.serial
      : read.type === 'removal'
        ? read.removal.serial
        : read.view.serial;
  }

  #read(value: Uint8Array): ReturnType<typeof decodeCredentialRecord> {
    try {
      return decodeCredentialRecord(value);
    } catch (cause) {
      if (!WireError.is(cause)) throw cause;
      throw new DhtError('INVALID_VALUE', `not a CREDENTIAL: ${cause.message}`, { cause });
    }
  }
}
