import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  AdminKeySet,
  decodePeerCertificate,
  encodePeerCertificate,
  exportPeerIdentity,
  generatePeerIdentity,
  importPeerIdentity,
  type PeerCertificate,
  type PeerIdentity,
} from '@xpp/dht';
import { NodeError } from '../errors.js';

/** The membership files of a data directory (README: "Data directory"). */
export const MEMBERSHIP_FILES = Object.freeze({
  /** This peer's Ed25519 identity key, PKCS#8 PEM, mode 0600: its peer id derives from the public half. */
  identityKey: 'identity.key',
  /** This peer's certificate (spec §5.3 octets), signed by an administrator key. */
  certificate: 'peer.cert',
  /** More administrator public keys accepted besides `admin.pub` (one `*.pub` file each, 64 hex digits). */
  adminKeys: 'admin-keys',
  /** Enrollment tokens issued by this (the administrator's) node, mode 0600. */
  enrollmentTokens: 'enrollment-tokens.json',
  /** Where this peer enrolled (the administrator node's SIP address), for renewal. */
  enrollment: 'enrollment.json',
  /** The id file of nodes from before certified membership: refused, since an id must derive from the key. */
  legacyPeerId: 'peer.id',
});

export function fileError(what: string, path: string, cause: unknown): never {
  throw new NodeError('KEY_FILE', `${what} ${path}: ${(cause as Error).message}`, { cause });
}

/** Writes `content` with `mode` (set again after writing: an existing file keeps its mode otherwise). */
export function writeFile(path: string, content: string | Uint8Array, mode: number): void {
  try {
    writeFileSync(path, typeof content === 'string' ? `${content.trim()}\n` : content, { mode });
    chmodSync(path, mode);
  } catch (cause) {
    fileError('cannot write', path, cause);
  }
}

export function ensureDataDir(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch (cause) {
    fileError('cannot create data directory', dir, cause);
  }
}

/**
 * A data directory of a node from before certified membership holds `peer.id`: refused with the fix, since its id
 * was chosen at random and cannot be kept (spec §5.2: a peer id derives from the identity key).
 */
export function refuseLegacyPeerId(dataDir: string): void {
  const path = join(dataDir, MEMBERSHIP_FILES.legacyPeerId);
  if (!existsSync(path)) return;
  throw new NodeError(
    'KEY_FILE',
    `${path} is from a version without certified membership: a peer id now derives from the identity key ` +
      `(identity.key) and the old id cannot be kept. Remove ${path}; the node then gets a new identity and must ` +
      'be certified (README "Upgrading to certified membership")',
  );
}

/** This peer's identity from `identity.key`; created (0600) when absent and `create` is set. */
export function loadIdentity(dataDir: string, options: { create: boolean }): PeerIdentity | undefined {
  const path = join(dataDir, MEMBERSHIP_FILES.identityKey);
  if (!existsSync(path)) {
    if (!options.create) return undefined;
    ensureDataDir(dataDir);
    const identity = generatePeerIdentity();
    writeFile(path, exportPeerIdentity(identity), 0o600);
    return identity;
  }
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (cause) {
    fileError('cannot read', path, cause);
  }
  try {
    return importPeerIdentity(text);
  } catch (cause) {
    throw new NodeError('KEY_FILE', `${path} is not an Ed25519 private key (PKCS#8 PEM)`, { cause });
  }
}

/** The certificate at `path` (default `<dataDir>/peer.cert`), or undefined when there is none. */
export function loadCertificate(dataDir: string, path?: string): PeerCertificate | undefined {
  const file = path ?? join(dataDir, MEMBERSHIP_FILES.certificate);
  if (!existsSync(file)) {
    if (path !== undefined) throw new NodeError('KEY_FILE', `no certificate at ${file}`);
    return undefined;
  }
  let octets: Buffer;
  try {
    octets = readFileSync(file);
  } catch (cause) {
    fileError('cannot read', file, cause);
  }
  try {
    return decodePeerCertificate(new Uint8Array(octets));
  } catch (cause) {
    throw new NodeError('KEY_FILE', `${file} is not a peer certificate (xpp-pcan §5.3)`, { cause });
  }
}

/** Writes `certificate` to `<dataDir>/peer.cert` (or `path`), readable by all: it holds nothing secret. */
export function saveCertificate(certificate: PeerCertificate, dataDir: string, path?: string): string {
  const file = path ?? join(dataDir, MEMBERSHIP_FILES.certificate);
  writeFile(file, encodePeerCertificate(certificate), 0o644);
  return file;
}

const HEX_KEY = /^[0-9a-fA-F]{64}$/;

function hexKeyFile(path: string): string {
  let text: string;
  try {
    text = readFileSync(path, 'utf8').trim();
  } catch (cause) {
    fileError('cannot read', path, cause);
  }
  if (!HEX_KEY.test(text))
    throw new NodeError('KEY_FILE', `${path} must hold an Ed25519 public key as 64 hex digits`);
  return text.toLowerCase();
}

/**
 * The administrator public keys this node accepts (spec §5.1; several at once while a key is rotated): the
 * configured ones (`adminPublicKey`, comma-separated), `admin.pub` and every `admin-keys/*.pub`. Hex, de-duplicated,
 * the first being the primary (the one `admin.key` pairs with, when configured first or in `admin.pub`).
 */
export function adminPublicKeysOf(dataDir: string, configured: string | undefined): string[] {
  const keys: string[] = [];
  for (const hex of (configured ?? '').split(',').map((k) => k.trim())) {
    if (hex === '') continue;
    if (!HEX_KEY.test(hex))
      throw new NodeError('INVALID_CONFIG', `adminPublicKey: ${hex} is not 64 hex digits`);
    keys.push(hex.toLowerCase());
  }
  const pub = join(dataDir, 'admin.pub');
  if (existsSync(pub)) keys.push(hexKeyFile(pub));
  const dir = join(dataDir, MEMBERSHIP_FILES.adminKeys);
  if (existsSync(dir)) {
    for (const name of readdirSync(dir).sort())
      if (name.endsWith('.pub')) keys.push(hexKeyFile(join(dir, name)));
  }
  return [...new Set(keys)];
}

/** {@link adminPublicKeysOf} as an {@link AdminKeySet}. */
export function adminKeySetOf(keys: readonly string[]): AdminKeySet {
  return new AdminKeySet(keys.map((hex) => new Uint8Array(Buffer.from(hex, 'hex'))));
}
