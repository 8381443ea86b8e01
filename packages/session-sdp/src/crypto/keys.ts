import { createPrivateKey, createPublicKey, diffieHellman, hkdfSync, type KeyObject } from 'node:crypto';
import sodium from 'sodium-native';
import { SessionError } from '../errors.js';
import { checkLtag } from '../sdp/ltag.js';

/** Octets of an X25519 public key and of each derived ChaCha20-Poly1305 key. */
export const KEY_SIZE = 32;
/** HKDF info prefix (profile, see docs/decisions/session-sdp-key-derivation.md). */
const INFO_LABEL = Buffer.from('xpp-v1 chacha20-poly1305', 'ascii');

/** An X25519 key pair: the raw public key for `a=xpp-key`, the private key kept as a `KeyObject`. */
export interface XppKeyPair {
  readonly publicKey: Uint8Array;
  readonly privateKey: KeyObject;
}

/** One key per direction (spec §7). */
export interface DirectionalKeys {
  /** Seals what we send. */
  readonly send: Uint8Array;
  /** Opens what the peer sends. */
  readonly receive: Uint8Array;
}

/**
 * A fresh X25519 key pair (one per session). The scalar comes from libsodium's random source and its public key from
 * libsodium's X25519; node:crypto only imports the pair for the key agreement. Not `generateKeyPairSync` and a JWK
 * export: Node 20 can deadlock there — the export holds the key's mutex while it allocates, a garbage collection
 * then finalises an earlier key-generation job that takes the same mutex, and the process hangs for good (seen in
 * the 1,000-peer simulation, which makes tens of thousands of session keys).
 */
export function generateXppKeyPair(): XppKeyPair {
  const secret = Buffer.alloc(KEY_SIZE);
  sodium.randombytes_buf(secret);
  const publicKey = new Uint8Array(KEY_SIZE);
  sodium.crypto_scalarmult_base(publicKey, secret);
  const privateKey = createPrivateKey({
    key: {
      kty: 'OKP',
      crv: 'X25519',
      d: secret.toString('base64url'),
      x: Buffer.from(publicKey).toString('base64url'),
    },
    format: 'jwk',
  });
  secret.fill(0);
  return { publicKey, privateKey };
}

/**
 * X25519 then HKDF-SHA256 (empty salt) of the shared secret, per direction, with info =
 * label ‖ sender ltag ‖ receiver ltag ‖ sender public key ‖ receiver public key. Both sides derive the same pair
 * mirrored. Throws `INVALID_ARGUMENT` for a peer key that is not 32 octets or yields an all-zero secret.
 */
export function deriveDirectionalKeys(input: {
  readonly local: XppKeyPair;
  readonly localLtag: number;
  readonly remotePublicKey: Uint8Array;
  readonly remoteLtag: number;
}): DirectionalKeys {
  checkLtag(input.localLtag);
  checkLtag(input.remoteLtag);
  if (input.remotePublicKey.length !== KEY_SIZE) {
    throw new SessionError('INVALID_ARGUMENT', `peer public key of ${input.remotePublicKey.length} octets`);
  }
  let shared: Buffer;
  try {
    const publicKey = createPublicKey({
      key: { kty: 'OKP', crv: 'X25519', x: Buffer.from(input.remotePublicKey).toString('base64url') },
      format: 'jwk',
    });
    shared = diffieHellman({ privateKey: input.local.privateKey, publicKey });
  } catch (cause) {
    throw new SessionError('INVALID_ARGUMENT', 'peer public key is not a usable X25519 key', { cause });
  }
  // A low-order peer key gives an all-zero secret (RFC 7748 §6.1): refuse it.
  if (shared.every((octet) => octet === 0)) {
    throw new SessionError('INVALID_ARGUMENT', 'peer public key is of low order');
  }
  const derive = (
    senderLtag: number,
    receiverLtag: number,
    senderKey: Uint8Array,
    receiverKey: Uint8Array,
  ) => {
    const info = Buffer.alloc(INFO_LABEL.length + 4 + 2 * KEY_SIZE);
    INFO_LABEL.copy(info, 0);
    info.writeUInt16BE(senderLtag, INFO_LABEL.length);
    info.writeUInt16BE(receiverLtag, INFO_LABEL.length + 2);
    info.set(senderKey, INFO_LABEL.length + 4);
    info.set(receiverKey, INFO_LABEL.length + 4 + KEY_SIZE);
    return new Uint8Array(hkdfSync('sha256', shared, new Uint8Array(0), info, KEY_SIZE));
  };
  return {
    send: derive(input.localLtag, input.remoteLtag, input.local.publicKey, input.remotePublicKey),
    receive: derive(input.remoteLtag, input.localLtag, input.remotePublicKey, input.local.publicKey),
  };
}
