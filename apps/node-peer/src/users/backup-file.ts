import { createCipheriv, createDecipheriv, randomBytes, scryptSync } from 'node:crypto';
import { chmodSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { NodeError } from '../errors.js';

/** What opens an `xpp-node backup` file: the first line of a backup, never anything else. */
export const BACKUP_MAGIC = 'xpp-node users backup v1\n';
/** The environment variable `backup` and `restore` read the passphrase from (never a command-line argument). */
export const BACKUP_PASSPHRASE_ENV = 'XPP_BACKUP_PASSPHRASE';
/** Shortest passphrase accepted: the file holds every user's HA1. */
export const MIN_BACKUP_PASSPHRASE = 12;

// scrypt cost (N = 2^15, r = 8, p = 1: 32 MiB and about 0.1 s here), kept in the header so that a later release
// may raise it and still read older files.
const SCRYPT = { N: 2 ** 15, r: 8, p: 1 } as const;
const SALT = 16;
const NONCE = 12;
const TAG = 16;

/** What a backup holds: the overlay's CREDENTIAL records as their administrator-signed values. */
export interface BackupContents {
  readonly version: 1;
  readonly domain: string;
  /** Unix ms. */
  readonly created: number;
  /** Signed CREDENTIAL values (credentials and tombstones), hex. */
  readonly records: readonly string[];
}

function key(passphrase: string, salt: Uint8Array, cost: { N: number; r: number; p: number }): Buffer {
  return scryptSync(passphrase.normalize('NFC'), salt, 32, { ...cost, maxmem: 256 * cost.N * cost.r });
}

/** scrypt's N, r and p as three big-endian u32. */
function costWords(cost: { N: number; r: number; p: number }): Buffer {
  const words = Buffer.alloc(12);
  words.writeUInt32BE(cost.N, 0);
  words.writeUInt32BE(cost.r, 4);
  words.writeUInt32BE(cost.p, 8);
  return words;
}

/** Checks a passphrase is usable; `INVALID_CONFIG` otherwise. */
export function checkPassphrase(passphrase: string | undefined): string {
  if (passphrase === undefined || passphrase.length < MIN_BACKUP_PASSPHRASE)
    throw new NodeError(
      'INVALID_CONFIG',
      `set ${BACKUP_PASSPHRASE_ENV} to a passphrase of at least ${MIN_BACKUP_PASSPHRASE} characters`,
    );
  return passphrase;
}

/**
 * Encrypts `contents` under `passphrase` (scrypt, AES-256-GCM; the header is authenticated too) and writes it to
 * `path` with mode 0600 — through a temporary file renamed into place, so neither a crash nor an existing file with
 * a wider mode ever leaves HA1s readable by others.
 */
export function writeBackup(path: string, contents: BackupContents, passphrase: string): void {
  const salt = randomBytes(SALT);
  const nonce = randomBytes(NONCE);
  const header = Buffer.concat([Buffer.from(BACKUP_MAGIC, 'utf8'), costWords(SCRYPT), salt, nonce]);
  const cipher = createCipheriv('aes-256-gcm', key(passphrase, salt, SCRYPT), nonce);
  cipher.setAAD(header);
  const body = Buffer.concat([cipher.update(JSON.stringify(contents), 'utf8'), cipher.final()]);
  const temporary = `${path}.tmp-${process.pid}`;
  try {
    writeFileSync(temporary, Buffer.concat([header, body, cipher.getAuthTag()]), { mode: 0o600, flag: 'wx' });
    chmodSync(temporary, 0o600);
    renameSync(temporary, path);
  } catch (cause) {
    throw new NodeError('KEY_FILE', `cannot write ${path}: ${(cause as Error).message}`, { cause });
  }
}

/**
 * Reads and decrypts a backup. `BACKUP_REFUSED` when it is not a backup, the passphrase is wrong or any octet was
 * changed (AES-GCM authenticates header and body alike).
 */
export function readBackup(path: string, passphrase: string): BackupContents {
  let file: Buffer;
  try {
    file = readFileSync(path);
  } catch (cause) {
    throw new NodeError('KEY_FILE', `cannot read ${path}: ${(cause as Error).message}`, { cause });
  }
  const magic = Buffer.from(BACKUP_MAGIC, 'utf8');
  const headerLength = magic.length + 12 + SALT + NONCE;
  if (file.length < headerLength + TAG || !file.subarray(0, magic.length).equals(magic))
    throw new NodeError('BACKUP_REFUSED', `${path} is not an xpp-node users backup`);
  const cost = {
    N: file.readUInt32BE(magic.length),
    r: file.readUInt32BE(magic.length + 4),
    p: file.readUInt32BE(magic.length + 8),
  };
  if (cost.N < 2 ** 14 || cost.N > 2 ** 20 || cost.r < 1 || cost.r > 32 || cost.p < 1 || cost.p > 16)
    throw new NodeError('BACKUP_REFUSED', `${path}: scrypt parameters out of range (a damaged file?)`);
  const salt = file.subarray(magic.length + 12, magic.length + 12 + SALT);
  const nonce = file.subarray(magic.length + 12 + SALT, headerLength);
  let plain: string;
  try {
    const decipher = createDecipheriv('aes-256-gcm', key(passphrase, salt, cost), nonce);
    decipher.setAAD(file.subarray(0, headerLength));
    decipher.setAuthTag(file.subarray(file.length - TAG));
    plain = Buffer.concat([
      decipher.update(file.subarray(headerLength, file.length - TAG)),
      decipher.final(),
    ]).toString('utf8');
  } catch (cause) {
    throw new NodeError(
      'BACKUP_REFUSED',
      `${path} does not decrypt: wrong passphrase, or the file was changed`,
      { cause },
    );
  }
  const contents = JSON.parse(plain) as Partial<BackupContents>;
  if (contents.version !== 1 || !Array.isArray(contents.records) || typeof contents.domain !== 'string')
    throw new NodeError('BACKUP_REFUSED', `${path}: unknown backup contents`);
  return contents as BackupContents;
}
