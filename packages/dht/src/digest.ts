import { createHash, timingSafeEqual } from 'node:crypto';
import type { Credential } from './credential.js';
import { HASH_NAME, type DigestAlgorithm } from './internal/digest-hash.js';
import { DhtError } from './errors.js';

/** The fields of a client's `Authorization: Digest …` header (RFC 7616 §3.4) plus the request method. */
export interface DigestResponseFields {
  readonly username: string;
  readonly realm: string;
  readonly nonce: string;
  readonly uri: string;
  /** The client's `response`, hex. */
  readonly response: string;
  /** The request's method (REGISTER). */
  readonly method: string;
  /** `SHA-256` or `MD5`; absent means MD5 (RFC 7616 §3.4). */
  readonly algorithm?: string;
  /** Must be `auth`. */
  readonly qop?: string;
  /** Nonce count: 8 hex digits. */
  readonly nc?: string;
  readonly cnonce?: string;
}

function unsupported(why: string): DhtError {
  return new DhtError('UNSUPPORTED_DIGEST', why);
}

/** The algorithm named by a digest header; `-sess` variants and others are `UNSUPPORTED_DIGEST`. */
export function parseDigestAlgorithm(name: string | undefined): DigestAlgorithm {
  const upper = (name ?? 'MD5').toUpperCase();
  if (upper === 'SHA-256' || upper === 'MD5') return upper;
  throw unsupported(`digest algorithm ${name ?? ''} is not supported (SHA-256 or MD5)`);
}

/**
 * Throws `UNSUPPORTED_DIGEST` for a response this profile does not take (algorithm, qop, nc, cnonce), so that a
 * registrar refuses it before routing it to the owner.
 */
export function assertSupportedDigest(fields: DigestResponseFields): void {
  parseDigestAlgorithm(fields.algorithm);
  if (fields.qop !== 'auth') throw unsupported(`qop ${fields.qop ?? '(none)'} is not supported (auth)`);
  if (fields.nc === undefined || !/^[0-9a-fA-F]{8}$/.test(fields.nc))
    throw unsupported('nc must be 8 hex digits');
  if (fields.cnonce === undefined || fields.cnonce === '')
    throw unsupported('cnonce is required with qop=auth');
}

function hexHash(algorithm: DigestAlgorithm, text: string): string {
  return createHash(HASH_NAME[algorithm]).update(text, 'utf8').digest('hex');
}

/**
 * The RFC 7616 §3.4.1 `response` for qop=auth: KD(H(A1), nonce:nc:cnonce:qop:H(method:uri)), lower-case hex,
 * where `ha1` is H(A1) as octets.
 */
export function computeDigestResponse(
  algorithm: DigestAlgorithm,
  ha1: Uint8Array,
  fields: Omit<DigestResponseFields, 'response' | 'username' | 'realm' | 'algorithm'>,
): string {
  assertSupportedDigest({ ...fields, username: '', realm: '', response: '', algorithm: algorithm });
  const ha2 = hexHash(algorithm, `${fields.method}:${fields.uri}`);
  const ha1Hex = Buffer.from(ha1.buffer, ha1.byteOffset, ha1.byteLength).toString('hex');
  return hexHash(algorithm, `${ha1Hex}:${fields.nonce}:${fields.nc}:${fields.cnonce}:${fields.qop}:${ha2}`);
}

/**
 * Whether `fields` answer a digest challenge with the secret of `credential` (qop=auth, SHA-256 or MD5). The
 * username and realm must be the credential's; the response is compared in constant time. An algorithm or qop
 * this profile does not accept, or MD5 for a credential without an MD5 secret, is `UNSUPPORTED_DIGEST`. Nonce
 * freshness is the caller's (the registrar issued it).
 */
export function verifyDigest(credential: Credential, fields: DigestResponseFields): boolean {
  const algorithm = parseDigestAlgorithm(fields.algorithm);
  const ha1 = algorithm === 'SHA-256' ? credential.ha1Sha256 : credential.ha1Md5;
  if (ha1 === undefined) throw unsupported(`credential for ${credential.aor} holds no ${algorithm} secret`);
  const expected = Buffer.from(computeDigestResponse(algorithm, ha1, fields), 'utf8');
  const given = Buffer.from(fields.response.toLowerCase(), 'utf8');
  const sameLength = given.length === expected.length;
  // Compare equal-length buffers even on a length mismatch so the time taken does not depend on the input.
  const match = timingSafeEqual(expected, sameLength ? given : expected) && sameLength;
  return match && fields.username === credential.username && fields.realm === credential.realm;
}
