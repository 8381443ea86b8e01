import { existsSync, readFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import {
  decodeCredentialRecord,
  DhtError,
  LASTING_LIFETIME,
  RecordKind,
  verifyCredential,
  verifyCredentialRemoval,
  type AdminKeySet,
  type CredentialRemoval,
  normaliseAor,
  publicCredential,
  type OverlayNode,
  type PublicCredential,
  type SignedCredential,
} from '@xpp/dht';
import type { Logger } from '../logger.js';

/** The file older releases republished credentials from; read once at the first start of this release. */
export const LEGACY_CREDENTIALS_FILE = 'credentials.json';
/** What `credentials.json` is renamed to once its credentials are in the overlay (kept: it is the operator's). */
export const IMPORTED_CREDENTIALS_FILE = 'credentials.json.imported';
/** Entries of a legacy file read at most (the bound the old keeper had). */
export const MAX_LEGACY_CREDENTIALS = 10_000;

/**
 * Checks `value` (a CREDENTIAL record value under an administrator signature) and stores it at the owner of its
 * AOR. The holders keep it until a higher serial replaces it (spec §4, §5.6): nothing here keeps a copy.
 * Throws `DhtError` (`INVALID_VALUE`, `BAD_SIGNATURE`, or what the owner answered: `STALE_SERIAL`…).
 */
export async function storeCredential(
  node: OverlayNode,
  admins: AdminKeySet,
  value: Uint8Array,
): Promise<SignedCredential> {
  const credential = verifyCredential(value, admins);
  await node.put(credential.aor, RecordKind.CREDENTIAL, value, LASTING_LIFETIME);
  return credential;
}

/**
 * Checks `value` (an administrator-signed removal) and stores it at the owner in place of the credential.
 * Throws `DhtError` (`BAD_SIGNATURE`, `CREDENTIAL_REFUSED`, or `STALE_SERIAL` when a newer credential is there).
 */
export async function storeRemoval(
  node: OverlayNode,
  admins: AdminKeySet,
  value: Uint8Array,
): Promise<CredentialRemoval> {
  const decoded = decodeCredentialRecord(value);
  if (decoded.type !== 'removal')
    throw new DhtError('INVALID_VALUE', 'expected a credential removal (xpp-node user remove)');
  const removal = verifyCredentialRemoval(decoded.removal, admins);
  await node.put(removal.aor, RecordKind.CREDENTIAL, value, LASTING_LIFETIME);
  return removal;
}

/**
 * A data directory of an older release may hold `credentials.json`, the credentials that node republished. They are
 * stored once (checked like any PUT; a newer serial in the overlay wins: `STALE_SERIAL` counts as done), then the
 * file is renamed `credentials.json.imported`, so it is never read again
 * (docs/decisions/node-peer-users.md). A file with failures stays for the next start.
 */
export async function importLegacyCredentials(
  dataDir: string,
  node: OverlayNode,
  admins: AdminKeySet,
  logger: Logger,
): Promise<{ stored: number; stale: number; failed: number } | undefined> {
  const path = join(dataDir, LEGACY_CREDENTIALS_FILE);
  if (!existsSync(path)) return undefined;
  let saved: unknown;
  try {
    saved = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    logger.warn({ file: path, err: error }, 'legacy credentials file is not JSON; not imported');
    return undefined;
  }
  const entries = Array.isArray(saved) ? saved.slice(0, MAX_LEGACY_CREDENTIALS) : [];
  let stored = 0;
  let stale = 0;
  let failed = 0;
  for (const hex of entries) {
    if (typeof hex !== 'string' || !/^([0-9a-fA-F]{2})+$/.test(hex)) continue;
    try {
      await storeCredential(node, admins, new Uint8Array(Buffer.from(hex, 'hex')));
      stored += 1;
    } catch (error) {
      // A newer serial is there (409 from the owner, relayed or local): the overlay has moved on, nothing to do.
      if (DhtError.is(error) && error.status === 409) stale += 1;
      // Signed by a key no longer accepted: never importable, so not a reason to keep the file.
      else if (DhtError.is(error, 'BAD_SIGNATURE')) stale += 1;
      else failed += 1;
    }
  }
  if (failed === 0) renameSync(path, join(dataDir, IMPORTED_CREDENTIALS_FILE));
  logger.info(
    { file: path, stored, stale, failed },
    failed === 0
      ? `legacy ${LEGACY_CREDENTIALS_FILE} imported once into the overlay and renamed ${IMPORTED_CREDENTIALS_FILE}`
      : `legacy ${LEGACY_CREDENTIALS_FILE}: some credentials could not be stored; retried at the next start`,
  );
  return { stored, stale, failed };
}

/** What `user passwd` needs of a user: its public view (never HA1), or undefined when unknown or removed. */
export async function lookupCredential(
  node: OverlayNode,
  aor: string,
): Promise<PublicCredential | undefined> {
  let best: PublicCredential | undefined;
  for (const record of await node.get(normaliseAor(aor), RecordKind.CREDENTIAL)) {
    const read = decodeCredentialRecord(record.value);
    // GET answers the public view; a full credential is read the same way (an owner answering an older form).
    const view =
      read.type === 'public'
        ? read.view
        : read.type === 'credential'
          ? publicCredential(read.credential)
          : undefined;
    if (view !== undefined && (best === undefined || view.serial > best.serial)) best = view;
  }
  return best;
}
