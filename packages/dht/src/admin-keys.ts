import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { DhtError } from './errors.js';
import {
  ED25519_PUBLIC_KEY_SIZE,
  ED25519_SEED_SIZE,
  isEd25519,
  privateKeyFromSeed,
  publicKeyFromRaw,
  rawPublicKey,
} from './internal/ed25519.js';

/** The overlay administrator's Ed25519 key pair: the private key signs credentials, every peer holds the public one. */
export interface AdminKeyPair {
  readonly publicKey: KeyObject;
  readonly privateKey: KeyObject;
}

export const ADMIN_PUBLIC_KEY_SIZE = ED25519_PUBLIC_KEY_SIZE;
export const ADMIN_PRIVATE_KEY_SEED_SIZE = ED25519_SEED_SIZE;

/** Key errors carry the code of whose key it is: the administrator's or a peer's identity key. */
type KeyErrorCode = 'INVALID_ADMIN_KEY' | 'INVALID_IDENTITY_KEY';

function checkEd25519(
  key: KeyObject,
  type: 'public' | 'private',
  code: KeyErrorCode = 'INVALID_ADMIN_KEY',
): KeyObject {
  if (!isEd25519(key, type)) {
    throw new DhtError(code, `expected an Ed25519 ${type} key, got ${key.asymmetricKeyType ?? key.type}`);
  }
  return key;
}

function wrap<T>(what: string, make: () => T, code: KeyErrorCode = 'INVALID_ADMIN_KEY'): T {
  try {
    return make();
  } catch (cause) {
    if (DhtError.is(cause)) throw cause;
    throw new DhtError(code, `${what} is not a valid Ed25519 key`, { cause });
  }
}

/** An Ed25519 private key from PKCS#8 PEM or its raw 32-octet seed (RFC 8032); anything else is `code`. */
export function importEd25519PrivateKey(
  key: string | Uint8Array,
  what: string,
  code: KeyErrorCode,
): KeyObject {
  return wrap(
    what,
    () => {
      if (typeof key === 'string') return checkEd25519(createPrivateKey(key), 'private', code);
      if (key.length !== ED25519_SEED_SIZE) {
        throw new DhtError(code, `raw Ed25519 seed must be 32 octets, got ${key.length}`);
      }
      return checkEd25519(privateKeyFromSeed(key), 'private', code);
    },
    code,
  );
}

/** An Ed25519 private key as PKCS#8 PEM. */
export function exportEd25519PrivateKey(privateKey: KeyObject, code: KeyErrorCode): string {
  return checkEd25519(privateKey, 'private', code).export({ type: 'pkcs8', format: 'pem' }).toString();
}

export function generateAdminKeyPair(): AdminKeyPair {
  return generateKeyPairSync('ed25519');
}

/** The raw 32 octets of the public key (what a peer's configuration carries, e.g. in hex). */
export function exportAdminPublicKey(publicKey: KeyObject): Uint8Array {
  return rawPublicKey(checkEd25519(publicKey, 'public'));
}

/** The public key from its raw 32 octets or a PEM `PUBLIC KEY`; anything else is `INVALID_ADMIN_KEY`. */
export function importAdminPublicKey(key: Uint8Array | string): KeyObject {
  return wrap('administrator public key', () => {
    if (typeof key === 'string') return checkEd25519(createPublicKey(key), 'public');
    if (key.length !== ADMIN_PUBLIC_KEY_SIZE) {
      throw new DhtError('INVALID_ADMIN_KEY', `raw Ed25519 public key must be 32 octets, got ${key.length}`);
    }
    return checkEd25519(publicKeyFromRaw(key), 'public');
  });
}

/** The private key as PKCS#8 PEM (for the administrator's safe keeping; never given to peers). */
export function exportAdminPrivateKey(privateKey: KeyObject): string {
  return exportEd25519PrivateKey(privateKey, 'INVALID_ADMIN_KEY');
}

/** The private key from PKCS#8 PEM or its raw 32-octet seed (RFC 8032); anything else is `INVALID_ADMIN_KEY`. */
export function importAdminPrivateKey(key: string | Uint8Array): KeyObject {
  return importEd25519PrivateKey(key, 'administrator private key', 'INVALID_ADMIN_KEY');
}
