import { randomBytes, type KeyObject } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  exportAdminPrivateKey,
  exportAdminPublicKey,
  generateAdminKeyPair,
  importAdminPrivateKey,
  type PeerIdentity,
} from '@xpp/dht';
import { NodeError } from './errors.js';
import {
  ensureDataDir,
  fileError,
  loadIdentity,
  MEMBERSHIP_FILES,
  refuseLegacyPeerId,
  writeFile,
} from './membership/files.js';
import { RECORD_ROUTE_KEY_SIZE } from './proxy/record-route.js';

/** The files of a node's data directory (README: "Data directory"; the membership ones in `MEMBERSHIP_FILES`). */
export const DATA_FILES = Object.freeze({
  /** The administrator's Ed25519 private key, PKCS#8 PEM, mode 0600: signs credentials and certificates. */
  adminPrivateKey: 'admin.key',
  /** The administrator's public key, 64 hex digits: what every peer checks credentials and certificates against. */
  adminPublicKey: 'admin.pub',
  ...MEMBERSHIP_FILES,
  /** The overlay records this peer holds (SQLite, mode 0600, with `-wal` and `-shm` beside it); not with `--memory`. */
  records: 'records.db',
  /** HMAC key of this peer's Record-Route tokens, 64 hex digits, mode 0600: in-dialog requests survive a restart. */
  recordRouteKey: 'record-route.key',
});

function readText(path: string): string {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch (cause) {
    fileError('cannot read', path, cause);
  }
}

function hexFile(path: string, octets: number, what: string): Uint8Array {
  const text = readText(path);
  if (!new RegExp(`^[0-9a-fA-F]{${octets * 2}}$`).test(text)) {
    throw new NodeError('KEY_FILE', `${path} must hold ${what} as ${octets * 2} hex digits`);
  }
  return new Uint8Array(Buffer.from(text, 'hex'));
}

/** A new administrator key pair in `dataDir`; the public key's hex. */
export function writeAdminKeys(dataDir: string): string {
  ensureDataDir(dataDir);
  const pair = generateAdminKeyPair();
  const publicHex = Buffer.from(exportAdminPublicKey(pair.publicKey)).toString('hex');
  writeFile(join(dataDir, DATA_FILES.adminPrivateKey), exportAdminPrivateKey(pair.privateKey), 0o600);
  writeFile(join(dataDir, DATA_FILES.adminPublicKey), publicHex, 0o644);
  return publicHex;
}

export interface KeygenResult {
  readonly adminPublicKeyHex: string;
  readonly peerIdHex: string;
  readonly files: readonly string[];
}

/**
 * `xpp-node keygen`: a new administrator key pair and, when absent, this peer's identity key in `dataDir`. Refuses
 * to replace an existing administrator key unless `force` — a lost administrator key means no user can be added
 * or changed and no peer certified any more. The identity key is never replaced: the peer id derives from it.
 */
export function keygen(dataDir: string, options: { force?: boolean } = {}): KeygenResult {
  ensureDataDir(dataDir);
  refuseLegacyPeerId(dataDir);
  const files = [DATA_FILES.adminPrivateKey, DATA_FILES.adminPublicKey].map((f) => join(dataDir, f));
  const existing = files.filter((f) => existsSync(f));
  if (existing.length > 0 && options.force !== true) {
    throw new NodeError(
      'KEY_FILE',
      `refusing to overwrite ${existing.join(', ')} (use --force to replace them)`,
    );
  }
  const adminPublicKeyHex = writeAdminKeys(dataDir);
  const identity = loadIdentity(dataDir, { create: true }) as PeerIdentity;
  return {
    adminPublicKeyHex,
    peerIdHex: identity.id,
    files: [...files, join(dataDir, DATA_FILES.identityKey)],
  };
}

/**
 * This peer's Record-Route key (docs/decisions/node-peer-proxy.md, "Policy"), created 0600 on first use. Only this
 * node may hold it: whoever has it can make Route headers this node forwards.
 */
export function loadRecordRouteKey(dataDir: string): Uint8Array {
  ensureDataDir(dataDir);
  const path = join(dataDir, DATA_FILES.recordRouteKey);
  if (existsSync(path)) return hexFile(path, RECORD_ROUTE_KEY_SIZE, 'a Record-Route key');
  const key = new Uint8Array(randomBytes(RECORD_ROUTE_KEY_SIZE));
  writeFile(path, Buffer.from(key).toString('hex'), 0o600);
  return key;
}

/** Whether `dataDir` holds the administrator private key (this is the administrator's node). */
export function hasAdminPrivateKey(dataDir: string): boolean {
  return existsSync(join(dataDir, DATA_FILES.adminPrivateKey));
}

/** The administrator private key of `dataDir` (for `user add`, `peer certify`, `peer invite`, `peer revoke`). */
export function loadAdminPrivateKey(dataDir: string): KeyObject {
  const path = join(dataDir, DATA_FILES.adminPrivateKey);
  if (!existsSync(path)) {
    throw new NodeError(
      'KEY_FILE',
      `no administrator private key at ${path} (run \`xpp-node keygen\` first)`,
    );
  }
  try {
    return importAdminPrivateKey(readText(path));
  } catch (cause) {
    throw new NodeError('KEY_FILE', `${path} is not an Ed25519 private key`, { cause });
  }
}
