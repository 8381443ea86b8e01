import { createHmac } from 'node:crypto';
import { NodeError } from '../errors.js';

/** The request URI's user part of enrollment MESSAGEs: `sip:xpp-enroll@<domain>`. */
export const ENROLL_USER = 'xpp-enroll';
/** Content-Type of an enrollment request body. */
export const ENROLL_CONTENT_TYPE = 'application/xpp-enroll';
/** Content-Type of the certificate in the 200 answer. */
export const CERTIFICATE_CONTENT_TYPE = 'application/xpp-peer-cert';
/** What a renewal's origin signature covers first. */
export const RENEW_LABEL = 'xpp-renew v1';
const PASSWORD_LABEL = 'xpp-enroll password v1';
const VERSION = 1;
const PUBLIC_KEY_SIZE = 32;
const PROOF_SIZE = 32;

/**
 * An enrollment request (docs/decisions/node-peer-enrollment.md). Octets: version (u8 = 1) ‖ kind (u8) ‖ public key
 * (32) ‖ then for `token` (1): token id length (u8) ‖ token id ‖ proof (32); for `renew` (2): signed-at (u64, Unix
 * seconds) ‖ origin (the rest: certificate ‖ Ed25519 signature, `signOrigin` over {@link renewalSigned}).
 */
export type EnrollRequest =
  | {
      readonly kind: 'token';
      readonly publicKey: Uint8Array;
      readonly tokenId: Uint8Array;
      readonly proof: Uint8Array;
    }
  | {
      readonly kind: 'renew';
      readonly publicKey: Uint8Array;
      readonly signedAt: number;
      readonly origin: Uint8Array;
    };

export function encodeEnrollRequest(request: EnrollRequest): Uint8Array {
  const head = [VERSION, request.kind === 'token' ? 1 : 2];
  if (request.kind === 'token') {
    return new Uint8Array(
      Buffer.concat([
        Buffer.from(head),
        request.publicKey,
        Buffer.from([request.tokenId.length]),
        request.tokenId,
        request.proof,
      ]),
    );
  }
  const at = Buffer.alloc(8);
  at.writeBigUInt64BE(BigInt(request.signedAt));
  return new Uint8Array(Buffer.concat([Buffer.from(head), request.publicKey, at, request.origin]));
}

function malformed(why: string): never {
  throw new NodeError('REFUSED', `malformed enrollment request: ${why}`);
}

/** Decodes a request body; `NodeError` `REFUSED` on anything else. */
export function decodeEnrollRequest(body: Uint8Array): EnrollRequest {
  const b = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  if (b.length < 2 + PUBLIC_KEY_SIZE) malformed('too short');
  if (b[0] !== VERSION) malformed(`version ${b[0]}`);
  const publicKey = new Uint8Array(b.subarray(2, 2 + PUBLIC_KEY_SIZE));
  let at = 2 + PUBLIC_KEY_SIZE;
  if (b[1] === 1) {
    const idLength = b[at] ?? 0;
    at++;
    if (idLength === 0 || b.length !== at + idLength + PROOF_SIZE) malformed('token fields');
    return {
      kind: 'token',
      publicKey,
      tokenId: new Uint8Array(b.subarray(at, at + idLength)),
      proof: new Uint8Array(b.subarray(at + idLength)),
    };
  }
  if (b[1] === 2) {
    if (b.length <= at + 8) malformed('renewal fields');
    const signedAt = b.readBigUInt64BE(at);
    if (signedAt > BigInt(Number.MAX_SAFE_INTEGER)) malformed('signed-at');
    return {
      kind: 'renew',
      publicKey,
      signedAt: Number(signedAt),
      origin: new Uint8Array(b.subarray(at + 8)),
    };
  }
  return malformed(`kind ${b[1]}`);
}

/** The octets a renewal's origin signs: label ‖ public key ‖ signed-at (u64). */
export function renewalSigned(publicKey: Uint8Array, signedAt: number): Uint8Array {
  const at = Buffer.alloc(8);
  at.writeBigUInt64BE(BigInt(signedAt));
  return new Uint8Array(Buffer.concat([Buffer.from(RENEW_LABEL, 'ascii'), publicKey, at]));
}

/**
 * The digest password of an enrolled host's candidate AOR: derived from the token's secret and the host's key on
 * both sides, so the host can register as a user (and be invited) without any password travelling.
 */
export function enrolledPassword(secret: Uint8Array, publicKey: Uint8Array): string {
  return createHmac('sha256', secret)
    .update(PASSWORD_LABEL, 'ascii')
    .update(publicKey)
    .digest('base64url')
    .slice(0, 32);
}

/**
 * The text an operator copies: the enrollment token (id and secret, base64url) `@` the administrator node's SIP
 * address, where the joining host sends its proof.
 */
export function formatInvitation(tokenText: string, sipAddress: string): string {
  return `${tokenText}@${sipAddress}`;
}

/** Splits {@link formatInvitation}'s text; the address is undefined for a bare token. */
export function parseInvitation(text: string): { token: string; address: string | undefined } {
  const at = text.trim().indexOf('@');
  if (at < 0) return { token: text.trim(), address: undefined };
  return { token: text.trim().slice(0, at), address: text.trim().slice(at + 1) };
}
