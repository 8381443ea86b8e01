import type { KeyObject } from 'node:crypto';
import { WireError } from '@xpp/wire';
import { DhtError } from '../errors.js';
import { ByteReader, ByteWriter } from '../internal/bytes.js';
import { checkSize } from '../internal/codec.js';
import { ED25519_SIGNATURE_SIZE, signEd25519 } from '../internal/ed25519.js';
import type { AdminKeySet } from './admin-key-set.js';
import { PEER_ID_SIZE, toHex } from './identity.js';

export const REVOCATION_VERSION = 1;
const LABEL = new TextEncoder().encode('xpp-pcan revoke v1');
const KEY_PREFIX = 'revoked:';
const PEER_ID_HEX = /^[0-9a-f]{32}$/;

/** An administrator-signed revocation of a peer id (spec §5.3): the value of a `REVOCATION` record. */
export interface Revocation {
  readonly version: 1;
  readonly peerId: Uint8Array;
  /** Unix seconds. */
  readonly revokedAt: number;
  readonly signature: Uint8Array;
}

/** The record key a revocation is stored under: `revoked:<peer id hex>` (lower case). */
export function revocationKey(peerIdHex: string): string {
  const hex = peerIdHex.toLowerCase();
  if (!PEER_ID_HEX.test(hex)) {
    throw new DhtError('INVALID_ARGUMENT', `a peer id is ${PEER_ID_SIZE} octets in hex, got ${peerIdHex}`);
  }
  return KEY_PREFIX + hex;
}

function writeBody(w: ByteWriter, peerId: Uint8Array, revokedAt: number): ByteWriter {
  checkSize(peerId.length, PEER_ID_SIZE, PEER_ID_SIZE, 'peer id', false);
  return w.u8(REVOCATION_VERSION, 'version').bytes(peerId).u64(revokedAt, 'revoked-at');
}

function signingBytes(peerId: Uint8Array, revokedAt: number): Uint8Array {
  return writeBody(new ByteWriter().bytes(LABEL), peerId, revokedAt).finish();
}

/** Signs a revocation of `peerId` at `revokedAt` (Unix seconds) with the administrator's private key. */
export function issueRevocation(
  peerId: Uint8Array,
  revokedAt: number,
  adminPrivateKey: KeyObject,
): Revocation {
  const message = signingBytes(peerId, revokedAt);
  let signature: Uint8Array;
  try {
    signature = signEd25519(adminPrivateKey, message);
  } catch (cause) {
    throw new DhtError('INVALID_ADMIN_KEY', 'the administrator private key cannot sign', { cause });
  }
  return Object.freeze({ version: REVOCATION_VERSION, peerId: peerId.slice(), revokedAt, signature });
}

/** version (u8 = 1) ‖ peer id (16) ‖ revoked-at (u64) ‖ signature (64). */
export function encodeRevocation(r: Revocation): Uint8Array {
  checkSize(r.signature.length, ED25519_SIGNATURE_SIZE, ED25519_SIGNATURE_SIZE, 'signature', false);
  return writeBody(new ByteWriter(), r.peerId, r.revokedAt).bytes(r.signature).finish();
}

/** Reads a revocation from untrusted octets: throws `WireError` only. Does not verify it. */
export function decodeRevocation(bytes: Uint8Array): Revocation {
  const r = new ByteReader(bytes, 'revocation');
  const version = r.u8('version');
  if (version !== REVOCATION_VERSION) {
    throw new WireError('BAD_VALUE', `revocation version ${version} is not ${REVOCATION_VERSION}`);
  }
  const peerId = r.bytes(PEER_ID_SIZE, 'peer id');
  const revokedAt = r.u64('revoked-at');
  const signature = r.bytes(ED25519_SIGNATURE_SIZE, 'signature');
  r.end();
  return Object.freeze({ version: REVOCATION_VERSION, peerId, revokedAt, signature });
}

/** Throws `DhtError('BAD_SIGNATURE')` unless a key of `admins` signed the revocation. */
export function verifyRevocation(r: Revocation, admins: AdminKeySet): void {
  let message: Uint8Array;
  try {
    message = signingBytes(r.peerId, r.revokedAt);
  } catch (cause) {
    throw new DhtError('BAD_SIGNATURE', 'the revocation cannot be encoded', { cause });
  }
  if (!admins.verify(message, r.signature)) {
    throw new DhtError(
      'BAD_SIGNATURE',
      `revocation of ${toHex(r.peerId)} is not signed by an administrator key`,
    );
  }
}

/** Checks a REVOCATION record before a store accepts it: octets, signature, and key = `revoked:<its peer id>`. */
export type RevocationVerifier = (key: string, value: Uint8Array) => Revocation;

/** The verifier of REVOCATION records for a store configured with the administrator key set. */
export function createRevocationVerifier(admins: AdminKeySet): RevocationVerifier {
  return (key, value) => {
    let revocation: Revocation;
    try {
      revocation = decodeRevocation(value);
    } catch (cause) {
      if (!WireError.is(cause)) throw cause;
      throw new DhtError('INVALID_VALUE', `not a REVOCATION: ${cause.message}`, { cause });
    }
    verifyRevocation(revocation, admins);
    if (revocationKey(toHex(revocation.peerId)) !== key) {
      throw new DhtError('INVALID_KEY', `revocation of ${toHex(revocation.peerId)} stored under key ${key}`);
    }
    return revocation;
  };
}
