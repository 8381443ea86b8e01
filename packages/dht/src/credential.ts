import { createHash, sign, verify, type KeyObject } from 'node:crypto';
import { WireError } from '@xpp/wire';
import { aorUser, normaliseAor } from './aor.js';
import { DhtError } from './errors.js';
import { AdminKeySet } from './membership/admin-key-set.js';
import { ByteReader, ByteWriter, fromUtf8 } from './internal/bytes.js';
import { checkSize } from './internal/codec.js';

import { HA1_SIZE, HASH_NAME, type DigestAlgorithm } from './internal/digest-hash.js';

export type { DigestAlgorithm };

/** What identity assertion checks a REGISTER against (spec §5): the digest secrets of one AOR. */
export interface Credential {
  /** Normalised address-of-record; the record key. */
  readonly aor: string;
  /** Digest username (RFC 7616 `username`). */
  readonly username: string;
  readonly realm: string;
  /** H(username:realm:password) with SHA-256, 32 octets. */
  readonly ha1Sha256: Uint8Array;
  /** H(username:realm:password) with MD5, 16 octets, when old clients must be served. */
  readonly ha1Md5?: Uint8Array;
  /** Raised by the administrator at each change; a store refuses to replace a credential with an older one. */
  readonly serial: number;
}

/** A credential with the administrator's Ed25519 signature over its {@link credentialSigningBytes}. */
export interface SignedCredential extends Credential {
  readonly signature: Uint8Array;
}

export const SIGNATURE_SIZE = 64;
/** Domain separation: a signature over a credential can never be taken for one over anything else. */
// Its own buffer, not a slice of Node's shared pool: it lives as long as the process.
const SIGNING_CONTEXT = new TextEncoder().encode('XPP-PCAN credential v1\0');
const MAX_FIELD = 1024;

/** H(username ":" realm ":" password), RFC 7616 §3.4.2, as octets. */
export function computeHa1(
  algorithm: DigestAlgorithm,
  username: string,
  realm: string,
  password: string,
): Uint8Array {
  return new Uint8Array(
    createHash(HASH_NAME[algorithm]).update(`${username}:${realm}:${password}`, 'utf8').digest(),
  );
}

export interface CredentialInit {
  readonly aor: string;
  readonly realm: string;
  readonly password: string;
  /** Default: the user part of the AOR. */
  readonly username?: string;
  /** Default 1. */
  readonly serial?: number;
  /** Also keep an MD5 secret for old clients. Default true. */
  readonly md5?: boolean;
}

/** A credential from a password (the password itself is not kept). */
export function createCredential(init: CredentialInit): Credential {
  const aor = normaliseAor(init.aor);
  const username = init.username ?? aorUser(aor);
  const md5 = init.md5 ?? true;
  return {
    aor,
    username,
    realm: init.realm,
    ha1Sha256: computeHa1('SHA-256', username, init.realm, init.password),
    ...(md5 ? { ha1Md5: computeHa1('MD5', username, init.realm, init.password) } : {}),
    serial: init.serial ?? 1,
  };
}

function writeBody(w: ByteWriter, c: Credential): void {
  for (const [field, text] of [
    ['aor', c.aor],
    ['username', c.username],
    ['realm', c.realm],
  ] as const) {
    w.text(text, 2, 1, MAX_FIELD, field);
  }
  w.u32(c.serial, 'serial');
  checkSize(c.ha1Sha256.length, HA1_SIZE['SHA-256'], HA1_SIZE['SHA-256'], 'SHA-256 HA1', false);
  w.bytes8(c.ha1Sha256, 'SHA-256 HA1');
  const md5 = c.ha1Md5 ?? new Uint8Array(0);
  if (md5.length !== 0) checkSize(md5.length, HA1_SIZE.MD5, HA1_SIZE.MD5, 'MD5 HA1', false);
  w.bytes8(md5, 'MD5 HA1');
}

/**
 * The canonical octets the administrator signs: the context string `XPP-PCAN credential v1` and a NUL, then
 * u16-length-prefixed UTF-8 AOR, username and realm, u32 serial, u8-length-prefixed SHA-256 HA1 (32) and MD5 HA1
 * (0 or 16). One credential has exactly one encoding.
 */
export function credentialSigningBytes(credential: Credential): Uint8Array {
  const w = new ByteWriter().bytes(SIGNING_CONTEXT);
  writeBody(w, credential);
  return w.finish();
}

export function signCredential(credential: Credential, adminPrivateKey: KeyObject): SignedCredential {
  const signature = new Uint8Array(sign(null, credentialSigningBytes(credential), adminPrivateKey));
  return { ...credential, signature };
}

/** The value of a CREDENTIAL record: the signed body (without the context string), then u8 64 + signature. */
export function encodeCredential(credential: SignedCredential): Uint8Array {
  const w = new ByteWriter();
  writeBody(w, credential);
  checkSize(credential.signature.length, SIGNATURE_SIZE, SIGNATURE_SIZE, 'signature', false);
  return w.bytes8(credential.signature, 'signature').finish();
}

function readField(r: ByteReader, field: string): string {
  const bytes = r.bytes16(field);
  checkSize(bytes.length, 1, MAX_FIELD, field, true);
  return fromUtf8(bytes, field);
}

/** Reads a CREDENTIAL value (untrusted octets: throws `WireError` only). Does not verify the signature. */
export function decodeCredential(bytes: Uint8Array): SignedCredential {
  const r = new ByteReader(bytes, 'CREDENTIAL');
  const aor = readField(r, 'aor');
  const username = readField(r, 'username');
  const realm = readField(r, 'realm');
  const serial = r.u32('serial');
  const ha1Sha256 = r.bytes8('SHA-256 HA1');
  checkSize(ha1Sha256.length, HA1_SIZE['SHA-256'], HA1_SIZE['SHA-256'], 'SHA-256 HA1', true);
  const ha1Md5 = r.bytes8('MD5 HA1');
  if (ha1Md5.length !== 0) checkSize(ha1Md5.length, HA1_SIZE.MD5, HA1_SIZE.MD5, 'MD5 HA1', true);
  const signature = r.bytes8('signature');
  checkSize(signature.length, SIGNATURE_SIZE, SIGNATURE_SIZE, 'signature', true);
  r.end();
  const credential: { -readonly [K in keyof SignedCredential]: SignedCredential[K] } = {
    aor,
    username,
    realm,
    serial,
    ha1Sha256,
    signature,
  };
  if (ha1Md5.length !== 0) credential.ha1Md5 = ha1Md5;
  return credential;
}

/**
 * The credential, once its signature verifies against the administrator's public key (or any key of a set, during
 * a rotation). Octets that are not a
 * credential are `INVALID_VALUE`; a signature that does not verify is `BAD_SIGNATURE` (both refuse the record).
 */
export function verifyCredential(
  value: Uint8Array | SignedCredential,
  adminPublicKey: KeyObject | AdminKeySet,
): SignedCredential {
  let credential: SignedCredential;
  try {
    credential = value instanceof Uint8Array ? decodeCredential(value) : value;
  } catch (cause) {
    if (!WireError.is(cause)) throw cause;
    throw new DhtError('INVALID_VALUE', `not a CREDENTIAL: ${cause.message}`, { cause });
  }
  let ok = false;
  try {
    const message = credentialSigningBytes(credential);
    ok =
      adminPublicKey instanceof AdminKeySet
        ? adminPublicKey.verify(message, credential.signature)
        : verify(null, message, adminPublicKey, credential.signature);
  } catch {
    ok = false;
  }
  if (!ok)
    throw new DhtError(
      'BAD_SIGNATURE',
      `credential for ${credential.aor} is not signed by the administrator`,
    );
  return credential;
}

/** Checks a CREDENTIAL record before a store accepts it: signature, and key = the credential's AOR. */
export type CredentialVerifier = (key: string, value: Uint8Array) => SignedCredential;

/** The verifier every peer configures with the overlay's administrator public key (or key set). */
export function createCredentialVerifier(adminPublicKey: KeyObject | AdminKeySet): CredentialVerifier {
  return (key, value) => {
    const credential = verifyCredential(value, adminPublicKey);
    if (credential.aor !== key) {
      throw new DhtError('CREDENTIAL_REFUSED', `credential for ${credential.aor} stored under key ${key}`);
    }
    return credential;
  };
}
