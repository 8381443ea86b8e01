import { createPrivateKey, createPublicKey, sign, type KeyObject } from 'node:crypto';
import sodium from 'sodium-native';

/** Raw sizes of RFC 8032 Ed25519: public key, private seed, signature. */
export const ED25519_PUBLIC_KEY_SIZE = 32;
export const ED25519_SEED_SIZE = 32;
export const ED25519_SIGNATURE_SIZE = 64;

/** DER prefix of an Ed25519 SubjectPublicKeyInfo (RFC 8410); the raw 32-octet key follows. */
const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');
/** DER prefix of an Ed25519 PKCS#8 private key (RFC 8410); the raw 32-octet seed follows. */
const PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

/** True for a KeyObject that is an Ed25519 key of `type`. */
export function isEd25519(key: KeyObject, type: 'public' | 'private'): boolean {
  return key.asymmetricKeyType === 'ed25519' && key.type === type;
}

/** The raw 32 octets of an Ed25519 public key (or of the public half of a private one). */
export function rawPublicKey(key: KeyObject): Uint8Array {
  const pub = key.type === 'private' ? createPublicKey(key) : key;
  const der = pub.export({ type: 'spki', format: 'der' });
  return new Uint8Array(der.subarray(SPKI_PREFIX.length));
}

/** A public KeyObject from the raw 32 octets (the caller has checked the length). */
export function publicKeyFromRaw(raw: Uint8Array): KeyObject {
  return createPublicKey({ key: Buffer.concat([SPKI_PREFIX, raw]), format: 'der', type: 'spki' });
}

/** A private KeyObject from the raw 32-octet seed (the caller has checked the length). */
export function privateKeyFromSeed(seed: Uint8Array): KeyObject {
  return createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, seed]), format: 'der', type: 'pkcs8' });
}

/** libsodium's 64-octet secret key (seed ‖ public key) of each private KeyObject signed with, made once. */
const sodiumKeys = new WeakMap<KeyObject, Uint8Array>();

function sodiumSecretKey(privateKey: KeyObject): Uint8Array {
  let secret = sodiumKeys.get(privateKey);
  if (secret === undefined) {
    const der = privateKey.export({ type: 'pkcs8', format: 'der' });
    secret = sodium.sodium_malloc(64);
    sodium.crypto_sign_seed_keypair(
      new Uint8Array(ED25519_PUBLIC_KEY_SIZE),
      secret,
      der.subarray(PKCS8_PREFIX.length),
    );
    der.fill(0);
    sodiumKeys.set(privateKey, secret);
  }
  return secret;
}

/**
 * Ed25519 signature (64 octets) over `message`. A peer signs the ORIGIN of every write it starts (one per REGISTER),
 * so an Ed25519 key signs through libsodium (about half node:crypto's cost per signature; Ed25519 is deterministic:
 * the same octets). Any other key type goes to node:crypto, which refuses it as before.
 */
export function signEd25519(privateKey: KeyObject, message: Uint8Array): Uint8Array {
  if (!isEd25519(privateKey, 'private')) return new Uint8Array(sign(null, message, privateKey));
  const signature = new Uint8Array(ED25519_SIGNATURE_SIZE);
  sodium.crypto_sign_detached(signature, message, sodiumSecretKey(privateKey));
  return signature;
}

/**
 * Checks an Ed25519 signature with a raw public key. libsodium's verify takes the raw key as it is and costs about
 * half of node:crypto's even with a ready KeyObject (docs/decisions/dht-peer-certificate.md); it also refuses
 * non-canonical signatures and small-order keys, which only a forger produces. Wrong sizes are simply `false`.
 */
export function verifyEd25519(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  if (publicKey.length !== ED25519_PUBLIC_KEY_SIZE || signature.length !== ED25519_SIGNATURE_SIZE)
    return false;
  return sodium.crypto_sign_verify_detached(signature, message, publicKey);
}
