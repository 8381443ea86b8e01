import { isKeyObject } from 'node:util/types';
import { createPublicKey, type KeyObject } from 'node:crypto';
import { exportAdminPublicKey, importAdminPublicKey } from '../admin-keys.js';
import { DhtError } from '../errors.js';
import { ED25519_PUBLIC_KEY_SIZE, verifyEd25519 } from '../internal/ed25519.js';
import { toHex } from './identity.js';

const HEX_KEY = /^[0-9a-fA-F]{64}$/;

function rawOf(key: KeyObject | Uint8Array | string): Uint8Array {
  if (typeof key === 'string') {
    const text = key.trim();
    // A configuration line carries the key in hex; anything else must be a PEM `PUBLIC KEY`.
    if (HEX_KEY.test(text)) return new Uint8Array(Buffer.from(text, 'hex'));
    return exportAdminPublicKey(importAdminPublicKey(text));
  }
  if (isKeyObject(key)) {
    // A private key is refused: a peer's configuration must never hold the administrator's secret.
    return exportAdminPublicKey(key);
  }
  return exportAdminPublicKey(importAdminPublicKey(key));
}

/**
 * The administrator public keys a peer accepts at once (spec §5.1). Several during a rotation: the operator adds
 * the new key everywhere, re-issues certificates and credentials under it, then removes the old one.
 */
export class AdminKeySet {
  readonly #keys: readonly Uint8Array[];

  /** Keys as KeyObjects, raw 32 octets, hex or PEM; duplicates count once. Empty or invalid is `INVALID_ADMIN_KEY`. */
  constructor(keys: readonly (KeyObject | Uint8Array | string)[]) {
    const seen = new Map<string, Uint8Array>();
    for (const key of keys) {
      const raw = rawOf(key);
      seen.set(toHex(raw), raw);
    }
    if (seen.size === 0) {
      throw new DhtError('INVALID_ADMIN_KEY', 'an administrator key set needs at least one key');
    }
    this.#keys = [...seen.values()];
  }

  /** A set of the one public key of an administrator private key (a founder certifying itself). */
  static ofPrivateKey(adminPrivateKey: KeyObject): AdminKeySet {
    return new AdminKeySet([createPublicKey(adminPrivateKey)]);
  }

  /** True when any key of the set made `signature` over `message`. */
  verify(message: Uint8Array, signature: Uint8Array): boolean {
    for (const key of this.#keys) {
      if (verifyEd25519(key, message, signature)) return true;
    }
    return false;
  }

  /** True when `publicKey` (raw 32 octets) is in the set. */
  has(publicKey: Uint8Array): boolean {
    if (publicKey.length !== ED25519_PUBLIC_KEY_SIZE) return false;
    return this.#keys.some((k) => Buffer.compare(k, publicKey) === 0);
  }

  /** The keys, raw 32 octets each (copies), in the order first given. */
  get publicKeys(): Uint8Array[] {
    return this.#keys.map((k) => k.slice());
  }

  get size(): number {
    return this.#keys.length;
  }
}
