import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { DhtError } from './errors.js';

/** The overlay administrator's Ed25519 key pair: the private key signs credentials, every peer holds the public one. */
export interface AdminKeyPair {
  readonly publicKey: KeyObject;
  readonly privateKey: KeyObject;
}

/** DER prefix of an Ed25519 SubjectPublicKeyInfo (RFC 8410); the raw 32-octet key follows. */
const ED25519_SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');
/** DER prefix of an Ed25519 PKCS#8 private key (RFC 8410); the raw 32-octet seed follows. */
const ED25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
export const ADMIN_PUBLIC_KEY_SIZE = 32;
export const ADMIN_PRIVATE_KEY_SEED_SIZE = 32;

function checkEd25519(key: KeyObject, type: 'public' | 'private'): KeyObject {
  if (key.asymmetricKeyType !== 'ed25519' || key.type !== type) {
    throw new DhtError(
      'INVALID_ADMIN_KEY',
      `expected an Ed25519 ${type} key, got ${key.asymmetricKeyType ?? key.type}`,
    );
  }
  return key;
}

function wrap<T>(what: string, make: () => T): T {
  try {
    return make();
  } catch (cause) {
    if (DhtError.is(cause)) throw cause;
    throw new DhtError('INVALID_ADMIN_KEY', `${what} is not a valid Ed25519 key`, { cause });
  }
}

export function generateAdminKeyPair(): AdminKeyPair {
  return generateKeyPairSync('ed25519');
}

/** The raw 32 octets of the public key (what a peer's configuration carries, e.g. in hex). */
export function exportAdminPublicKey(publicKey: KeyObject): Uint8Array {
  const der = checkEd25519(publicKey, 'public').export({ type: 'spki', format: 'der' });
  return new Uint8Array(der.subarray(ED25519_SPKI_PREFIX.length));
}

/** The public key from its raw 32 octets or a PEM `PUBLIC KEY`; anything else is `INVALID_ADMIN_KEY`. */
export function importAdminPublicKey(key: Uint8Array | string): KeyObject {
  return wrap('administrator public key', () => {
    if (typeof key === 'string') return checkEd25519(createPublicKey(key), 'public');
    if (key.length !== ADMIN_PUBLIC_KEY_SIZE) {
      throw new DhtError('INVALID_ADMIN_KEY', `raw Ed25519 public key must be 32 octets, got ${key.length}`);
    }
    const der = Buffer.concat([ED25519_SPKI_PREFIX, key]);
    return checkEd25519(createPublicKey({ key: der, format: 'der', type: 'spki' }), 'public');
  });
}

/** The private key as PKCS#8 PEM (for the administrator's safe keeping; never given to peers). */
export function exportAdminPrivateKey(privateKey: KeyObject): string {
  return checkEd25519(privateKey, 'private').export({ type: 'pkcs8', format: 'pem' }).toString();
}

/** The private key from PKCS#8 PEM or its raw 32-octet seed (RFC 8032); anything else is `INVALID_ADMIN_KEY`. */
export function importAdminPrivateKey(key: string | Uint8Array): KeyObject {
  return wrap('administrator private key', () => {
    if (typeof key === 'string') return checkEd25519(createPrivateKey(key), 'private');
    if (key.length !== ADMIN_PRIVATE_KEY_SEED_SIZE) {
      throw new DhtError('INVALID_ADMIN_KEY', `raw Ed25519 seed must be 32 octets, got ${key.length}`);
    }
    const der = Buffer.concat([ED25519_PKCS8_PREFIX, key]);
    return checkEd25519(createPrivateKey({ key: der, format: 'der', type: 'pkcs8' }), 'private');
  });
}
