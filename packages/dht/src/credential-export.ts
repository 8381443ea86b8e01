import {
  createCipheriv,
  createDecipheriv,
  createPublicKey,
  diffieHellman,
  generateKeyPairSync,
  hkdfSync,
  randomBytes,
  sign,
  type KeyObject,
} from 'node:crypto';
import { ByteReader, ByteWriter } from './internal/bytes.js';
import type { AdminKeySet } from './membership/admin-key-set.js';
import { DhtError } from './errors.js';

/**
 * The administrator's export of the overlay's credentials (`xpp-node user list` / `backup`;
 * docs/decisions/node-peer-users.md): a grant signed by an administrator key names a one-time X25519 key, and each
 * owner answers its CREDENTIAL records sealed to that key. Peers that route the request or its answers see only
 * ciphertext, and a grant replayed by one of them yields records only its signer's one-time key opens.
 */
export const CREDENTIAL_EXPORT_LABEL = 'xpp-credential-export v1';
/** How long after its issue an owner honours a grant, ms: a walk of a large overlay takes minutes. */
export const EXPORT_GRANT_VALIDITY_MS = 15 * 60_000;
/** Clock skew allowed before a grant's issue time, ms (the spec's 300 s). */
export const EXPORT_GRANT_SKEW_MS = 300_000;
/** Plaintext octets of credential values in one sealed page (well under one 65535-octet option). */
export const MAX_EXPORT_PAGE_OCTETS = 32 * 1024;

const VERSION = 1;
const X25519_KEY = 32;
const SIGNATURE = 64;
const NONCE = 12;
const TAG = 16;
const GRANT_OCTETS = 1 + 8 + X25519_KEY + SIGNATURE;
const X25519_SPKI_PREFIX = Buffer.from('302a300506032b656e032100', 'hex');

/** A grant and the one-time private key that opens what owners seal under it (kept by the administrator's tool). */
export interface ExportGrant {
  /** The octets of the EXPORT-GRANT option: version, issue time, one-time X25519 key, administrator signature. */
  readonly grant: Uint8Array;
  /** The one-time X25519 private key that opens the pages sealed under this grant; never leaves the tool. */
  readonly openKey: KeyObject;
}

function signedPart(issuedAt: number, publicKey: Uint8Array): Uint8Array {
  const time = Buffer.alloc(8);
  time.writeBigUInt64BE(BigInt(issuedAt));
  return Buffer.concat([
    Buffer.from(CREDENTIAL_EXPORT_LABEL, 'utf8'),
    Buffer.from([VERSION]),
    time,
    publicKey,
  ]);
}

function rawX25519(key: KeyObject): Uint8Array {
  return new Uint8Array(key.export({ format: 'der', type: 'spki' }).subarray(X25519_SPKI_PREFIX.length));
}

function x25519Public(raw: Uint8Array): KeyObject {
  return createPublicKey({ key: Buffer.concat([X25519_SPKI_PREFIX, raw]), format: 'der', type: 'spki' });
}

/** A grant for an export, signed by `adminPrivateKey`, issued at `now` (Unix ms). */
export function createExportGrant(adminPrivateKey: KeyObject, now: number = Date.now()): ExportGrant {
  const pair = generateKeyPairSync('x25519');
  const publicKey = rawX25519(pair.publicKey);
  const issuedAt = Math.floor(now);
  const signature = sign(null, signedPart(issuedAt, publicKey), adminPrivateKey);
  const time = Buffer.alloc(8);
  time.writeBigUInt64BE(BigInt(issuedAt));
  return {
    grant: new Uint8Array(Buffer.concat([Buffer.from([VERSION]), time, publicKey, signature])),
    openKey: pair.privateKey,
  };
}

/**
 * The one-time public key of a grant that an administrator key signed and that is in force at `now` (Unix ms).
 * `BAD_SIGNATURE` when no accepted key signed it, `FORBIDDEN` when it is out of its window or malformed.
 */
export function verifyExportGrant(grant: Uint8Array, admins: AdminKeySet, now: number): Uint8Array {
  if (grant.length !== GRANT_OCTETS || grant[0] !== VERSION)
    throw new DhtError('FORBIDDEN', `an export grant is ${GRANT_OCTETS} octets of version ${VERSION}`);
  const issuedAt = Number(Buffer.from(grant.subarray(1, 9)).readBigUInt64BE());
  const publicKey = grant.subarray(9, 9 + X25519_KEY);
  const signature = grant.subarray(9 + X25519_KEY);
  if (!admins.verify(signedPart(issuedAt, publicKey), signature))
    throw new DhtError('BAD_SIGNATURE', 'export grant not signed by an administrator key');
  if (now < issuedAt - EXPORT_GRANT_SKEW_MS || now > issuedAt + EXPORT_GRANT_VALIDITY_MS)
    throw new DhtError('FORBIDDEN', 'export grant out of its window (issued too long ago, or in the future)');
  return new Uint8Array(publicKey);
}

function sealKey(shared: Buffer, ephemeral: Uint8Array, recipient: Uint8Array): Buffer {
  const salt = Buffer.concat([ephemeral, recipient]);
  return Buffer.from(hkdfSync('sha256', shared, salt, CREDENTIAL_EXPORT_LABEL, 32));
}

/** `values` (CREDENTIAL record values) sealed to `recipient` (a grant's raw X25519 key): X25519, HKDF, AES-256-GCM. */
export function sealExport(values: readonly Uint8Array[], recipient: Uint8Array): Uint8Array {
  const w = new ByteWriter().u32(values.length, 'count');
  for (const value of values) w.u32(value.length, 'length').bytes(value);
  const plain = w.finish();
  const pair = generateKeyPairSync('x25519');
  const ephemeral = rawX25519(pair.publicKey);
  const key = sealKey(
    diffieHellman({ privateKey: pair.privateKey, publicKey: x25519Public(recipient) }),
    ephemeral,
    recipient,
  );
  const nonce = randomBytes(NONCE);
  const cipher = createCipheriv('aes-256-gcm', key, nonce);
  cipher.setAAD(Buffer.from(CREDENTIAL_EXPORT_LABEL, 'utf8'));
  const body = Buffer.concat([cipher.update(plain), cipher.final()]);
  return new Uint8Array(Buffer.concat([ephemeral, nonce, body, cipher.getAuthTag()]));
}

/** The values sealed by {@link sealExport}; `INVALID_VALUE` when `openKey` is not the one or the octets were changed. */
export function openExport(sealed: Uint8Array, openKey: KeyObject): Uint8Array[] {
  if (sealed.length < X25519_KEY + NONCE + TAG)
    throw new DhtError('INVALID_VALUE', 'a sealed export page is too short');
  const ephemeral = sealed.subarray(0, X25519_KEY);
  const nonce = sealed.subarray(X25519_KEY, X25519_KEY + NONCE);
  const body = sealed.subarray(X25519_KEY + NONCE, sealed.length - TAG);
  const recipient = rawX25519(createPublicKey(openKey));
  let plain: Buffer;
  try {
    const key = sealKey(
      diffieHellman({ privateKey: openKey, publicKey: x25519Public(ephemeral) }),
      ephemeral,
      recipient,
    );
    const decipher = createDecipheriv('aes-256-gcm', key, nonce);
    decipher.setAAD(Buffer.from(CREDENTIAL_EXPORT_LABEL, 'utf8'));
    decipher.setAuthTag(sealed.subarray(sealed.length - TAG));
    plain = Buffer.concat([decipher.update(body), decipher.final()]);
  } catch (cause) {
    throw new DhtError('INVALID_VALUE', 'a sealed export page does not open with this key', { cause });
  }
  const r = new ByteReader(new Uint8Array(plain), 'export page');
  const count = r.u32('count');
  const values: Uint8Array[] = [];
  for (let i = 0; i < count; i += 1) values.push(r.bytes(r.u32('length'), 'value'));
  r.end();
  return values;
}
