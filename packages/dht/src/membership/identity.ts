import { createHash, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { exportEd25519PrivateKey, importEd25519PrivateKey } from '../admin-keys.js';
import { DhtError } from '../errors.js';
import { ED25519_PUBLIC_KEY_SIZE, rawPublicKey, signEd25519 } from '../internal/ed25519.js';

/** Octets of a peer id: the first 16 of SHA-256 of the raw public key (spec §5.2). */
export const PEER_ID_SIZE = 16;
export const PEER_PUBLIC_KEY_SIZE = ED25519_PUBLIC_KEY_SIZE;

/** A peer's own Ed25519 identity (spec §5.2): the key pair and the peer id derived from it. */
export interface PeerIdentity {
  /** The raw 32-octet Ed25519 public key. */
  readonly publicKey: Uint8Array;
  readonly privateKey: KeyObject;
  /** First 16 octets of SHA-256(publicKey): never chosen, always derived. */
  readonly peerId: Uint8Array;
  /** `peerId` in lower-case hex. */
  readonly id: string;
}

/** The peer id of a raw 32-octet Ed25519 public key (spec §5.2). */
export function peerIdOf(publicKey: Uint8Array): Uint8Array {
  if (publicKey.length !== PEER_PUBLIC_KEY_SIZE) {
    throw new DhtError(
      'INVALID_ARGUMENT',
      `an Ed25519 public key is ${PEER_PUBLIC_KEY_SIZE} octets, got ${publicKey.length}`,
    );
  }
  const digest = createHash('sha256').update(publicKey).digest();
  return new Uint8Array(digest.subarray(0, PEER_ID_SIZE));
}

/** Lower-case hex of octets (peer ids in keys, logs and answers). */
export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

function identityOf(privateKey: KeyObject): PeerIdentity {
  const publicKey = rawPublicKey(privateKey);
  const peerId = peerIdOf(publicKey);
  return Object.freeze({ publicKey, privateKey, peerId, id: toHex(peerId) });
}

/** A fresh identity (what `keygen` or a first start writes to the data directory). */
export function generatePeerIdentity(): PeerIdentity {
  return identityOf(generateKeyPairSync('ed25519').privateKey);
}

/** The identity from its PKCS#8 PEM or raw 32-octet seed; anything else is `INVALID_IDENTITY_KEY`. */
export function importPeerIdentity(key: string | Uint8Array): PeerIdentity {
  return identityOf(importEd25519PrivateKey(key, 'peer identity key', 'INVALID_IDENTITY_KEY'));
}

/** The identity's private key as PKCS#8 PEM (the data directory's `identity.key`, mode 0600). */
export function exportPeerIdentity(identity: PeerIdentity): string {
  return exportEd25519PrivateKey(identity.privateKey, 'INVALID_IDENTITY_KEY');
}

/** The identity key's Ed25519 signature (64 octets) over `message`; callers prefix their own label. */
export function signWithIdentity(identity: PeerIdentity, message: Uint8Array): Uint8Array {
  return signEd25519(identity.privateKey, message);
}
