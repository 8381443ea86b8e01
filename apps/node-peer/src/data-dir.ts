import { randomBytes, type KeyObject } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  exportAdminPrivateKey,
  exportAdminPublicKey,
  generateAdminKeyPair,
  importAdminPrivateKey,
  importAdminPublicKey,
} from '@xpp/dht';
import { NodeError } from './errors.js';
import { RECORD_ROUTE_KEY_SIZE } from './proxy/record-route.js';

/** The files of a node's data directory (README: "Data directory"). */
export const DATA_FILES = Object.freeze({
  /** The administrator's Ed25519 private key, PKCS#8 PEM, mode 0600: signs credentials (`user add`). */
  adminPrivateKey: 'admin.key',
  /** The administrator's public key, 64 hex digits: what every peer checks credentials against. */
  adminPublicKey: 'admin.pub',
  /** This peer's id, 32 hex digits (16 random octets), kept across restarts. */
  peerId: 'peer.id',
  /** Signed credentials stored through this node, republished before they expire. */
  credentials: 'credentials.json',
  /** The overlay records this peer holds (SQLite, mode 0600, with `-wal` and `-shm` beside it); not with `--memory`. */
  records: 'records.db',
  /** HMAC key of this peer's Record-Route tokens, 64 hex digits, mode 0600: in-dialog requests survive a restart. */
  recordRouteKey: 'record-route.key',
});

const PEER_ID_SIZE = 16;

export interface NodeKeys {
  readonly peerId: Uint8Array;
  readonly adminPublicKey: KeyObject;
  /** Hex of the raw public key (what `/status` and the logs show). */
  readonly adminPublicKeyHex: string;
}

function fail(what: string, path: string, cause: unknown): never {
  throw new NodeError('KEY_FILE', `${what} ${path}: ${(cause as Error).message}`, { cause });
}

function readText(path: string): string {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch (cause) {
    fail('cannot read', path, cause);
  }
}

function write(path: string, text: string, mode: number): void {
  try {
    writeFileSync(path, `${text.trim()}\n`, { mode });
    chmodSync(path, mode);
  } catch (cause) {
    fail('cannot write', path, cause);
  }
}

function ensureDir(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch (cause) {
    fail('cannot create data directory', dir, cause);
  }
}

function hexFile(path: string, octets: number, what: string): Uint8Array {
  const text = readText(path);
  if (!new RegExp(`^[0-9a-fA-F]{${octets * 2}}$`).test(text)) {
    throw new NodeError('KEY_FILE', `${path} must hold ${what} as ${octets * 2} hex digits`);
  }
  return new Uint8Array(Buffer.from(text, 'hex'));
}

function writeAdminKeys(dataDir: string): string {
  const pair = generateAdminKeyPair();
  const publicHex = Buffer.from(exportAdminPublicKey(pair.publicKey)).toString('hex');
  write(join(dataDir, DATA_FILES.adminPrivateKey), exportAdminPrivateKey(pair.privateKey), 0o600);
  write(join(dataDir, DATA_FILES.adminPublicKey), publicHex, 0o644);
  return publicHex;
}

function writePeerId(dataDir: string): Uint8Array {
  const id = new Uint8Array(randomBytes(PEER_ID_SIZE));
  write(join(dataDir, DATA_FILES.peerId), Buffer.from(id).toString('hex'), 0o644);
  return id;
}

export interface KeygenResult {
  readonly adminPublicKeyHex: string;
  readonly peerIdHex: string;
  readonly files: readonly string[];
}

/**
 * `xpp-node keygen`: a new administrator key pair and peer id in `dataDir`. Refuses to replace existing keys unless
 * `force` — a lost administrator key means no user can be added or changed any more.
 */
export function keygen(dataDir: string, options: { force?: boolean } = {}): KeygenResult {
  ensureDir(dataDir);
  const files = [DATA_FILES.adminPrivateKey, DATA_FILES.adminPublicKey, DATA_FILES.peerId].map((f) =>
    join(dataDir, f),
  );
  const existing = files.filter((f) => existsSync(f));
  if (existing.length > 0 && options.force !== true) {
    throw new NodeError(
      'KEY_FILE',
      `refusing to overwrite ${existing.join(', ')} (use --force to replace them)`,
    );
  }
  const adminPublicKeyHex = writeAdminKeys(dataDir);
  const peerIdHex = Buffer.from(writePeerId(dataDir)).toString('hex');
  return { adminPublicKeyHex, peerIdHex, files };
}

/**
 * The keys a starting node needs. The peer id is created when absent. The administrator public key comes from
 * the configuration, else `admin.pub`; when neither exists, a node that starts a new overlay (`createAdmin`)
 * generates the administrator key pair — a joining node cannot, it must be told the overlay's key.
 */
export function loadNodeKeys(
  dataDir: string,
  options: { adminPublicKey?: string | undefined; createAdmin: boolean },
): NodeKeys {
  ensureDir(dataDir);
  const peerIdPath = join(dataDir, DATA_FILES.peerId);
  const peerId = existsSync(peerIdPath)
    ? hexFile(peerIdPath, PEER_ID_SIZE, 'a peer id')
    : writePeerId(dataDir);
  const publicPath = join(dataDir, DATA_FILES.adminPublicKey);
  let publicHex = options.adminPublicKey;
  if (publicHex === undefined && existsSync(publicPath)) {
    publicHex = Buffer.from(hexFile(publicPath, 32, 'an Ed25519 public key')).toString('hex');
  }
  if (publicHex === undefined) {
    if (!options.createAdmin) {
      throw new NodeError(
        'KEY_FILE',
        `a joining node needs the overlay's administrator public key: set adminPublicKey ` +
          `(XPP_NODE_ADMIN_PUBLIC_KEY, --admin-public-key) or put it in ${publicPath}`,
      );
    }
    if (existsSync(join(dataDir, DATA_FILES.adminPrivateKey))) {
      throw new NodeError('KEY_FILE', `${publicPath} is missing next to an administrator private key`);
    }
    publicHex = writeAdminKeys(dataDir);
  }
  return {
    peerId,
    adminPublicKey: importAdminPublicKey(new Uint8Array(Buffer.from(publicHex, 'hex'))),
    adminPublicKeyHex: publicHex.toLowerCase(),
  };
}

/**
 * This peer's Record-Route key (docs/decisions/node-peer-proxy.md, "Policy"), created 0600 on first use. Only this
 * node may hold it: whoever has it can make Route headers this node forwards.
 */
export function loadRecordRouteKey(dataDir: string): Uint8Array {
  ensureDir(dataDir);
  const path = join(dataDir, DATA_FILES.recordRouteKey);
  if (existsSync(path)) return hexFile(path, RECORD_ROUTE_KEY_SIZE, 'a Record-Route key');
  const key = new Uint8Array(randomBytes(RECORD_ROUTE_KEY_SIZE));
  write(path, Buffer.from(key).toString('hex'), 0o600);
  return key;
}

/** The administrator private key of `dataDir` (for `user add`). */
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
