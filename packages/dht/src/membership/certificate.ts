import type { KeyObject } from 'node:crypto';
import { WireError } from '@xpp/wire';
import { DhtError } from '../errors.js';
import { ByteReader, ByteWriter, fromUtf8 } from '../internal/bytes.js';
import { checkSize } from '../internal/codec.js';
import { ED25519_SIGNATURE_SIZE, signEd25519 } from '../internal/ed25519.js';
import type { AdminKeySet } from './admin-key-set.js';
import { PEER_PUBLIC_KEY_SIZE, peerIdOf } from './identity.js';
import { CertificateRefusedError } from './refusal.js';

export const PEER_CERTIFICATE_VERSION = 1;
/** Seconds of clock skew allowed at both ends of a validity window (spec §5.3). */
export const CERTIFICATE_CLOCK_SKEW = 300;
/** Default validity of a certificate, in days (spec §5.3). */
export const DEFAULT_CERTIFICATE_DAYS = 90;
/** Octets of the domain: a DNS name is at most 253, so 255 leaves a u16 field no room for abuse. */
export const MAX_CERTIFICATE_DOMAIN_SIZE = 255;
// Its own buffer, not a slice of Node's shared pool: it lives as long as the process.
const LABEL = new TextEncoder().encode('xpp-pcan peer-cert v1');

/** A peer certificate (spec §5.3): the administrator vouches that `publicKey` is a peer of `domain` in a window. */
export interface PeerCertificate {
  readonly version: 1;
  /** The peer's raw 32-octet Ed25519 public key; its id is {@link peerIdOf} of it. */
  readonly publicKey: Uint8Array;
  /** Unix seconds, inclusive. */
  readonly notBefore: number;
  /** Unix seconds, inclusive. */
  readonly notAfter: number;
  /** The overlay's domain (the SIP domain its peers serve). */
  readonly domain: string;
  /** The administrator's Ed25519 signature over the label and every preceding octet. */
  readonly signature: Uint8Array;
}

export interface PeerCertificateInit {
  readonly publicKey: Uint8Array;
  readonly domain: string;
  readonly notBefore: number;
  readonly notAfter: number;
}

function writeBody(w: ByteWriter, c: PeerCertificateInit): ByteWriter {
  checkSize(c.publicKey.length, PEER_PUBLIC_KEY_SIZE, PEER_PUBLIC_KEY_SIZE, 'public key', false);
  return w
    .u8(PEER_CERTIFICATE_VERSION, 'version')
    .bytes(c.publicKey)
    .u64(c.notBefore, 'not-before')
    .u64(c.notAfter, 'not-after')
    .text(c.domain, 2, 1, MAX_CERTIFICATE_DOMAIN_SIZE, 'domain');
}

/** What the administrator signs: `xpp-pcan peer-cert v1` ‖ version ‖ key ‖ not-before ‖ not-after ‖ domain. */
export function certificateSigningBytes(c: PeerCertificateInit): Uint8Array {
  return writeBody(new ByteWriter().bytes(LABEL), c).finish();
}

/** Signs a certificate with the administrator's private key (`peer certify`, enrollment, a founder for itself). */
export function issuePeerCertificate(init: PeerCertificateInit, adminPrivateKey: KeyObject): PeerCertificate {
  if (init.notAfter < init.notBefore) {
    throw new DhtError(
      'INVALID_ARGUMENT',
      `not-after ${init.notAfter} is before not-before ${init.notBefore}`,
    );
  }
  let signature: Uint8Array;
  try {
    signature = signEd25519(adminPrivateKey, certificateSigningBytes(init));
  } catch (cause) {
    if (WireError.is(cause) || DhtError.is(cause)) throw cause;
    throw new DhtError('INVALID_ADMIN_KEY', 'the administrator private key cannot sign', { cause });
  }
  return Object.freeze({
    version: PEER_CERTIFICATE_VERSION,
    publicKey: init.publicKey.slice(),
    notBefore: init.notBefore,
    notAfter: init.notAfter,
    domain: init.domain,
    signature,
  });
}

/** The certificate's octets (spec §5.3, big-endian): what `peer.cert` and `a=xpp-auth` carry. */
export function encodePeerCertificate(c: PeerCertificate): Uint8Array {
  checkSize(c.signature.length, ED25519_SIGNATURE_SIZE, ED25519_SIGNATURE_SIZE, 'signature', false);
  return writeBody(new ByteWriter(), c).bytes(c.signature).finish();
}

/** Reads certificate fields from `r` (for blobs that carry a certificate followed by more octets). */
export function readPeerCertificate(r: ByteReader): PeerCertificate {
  const version = r.u8('version');
  if (version !== PEER_CERTIFICATE_VERSION) {
    throw new WireError(
      'BAD_VALUE',
      `peer certificate version ${version} is not ${PEER_CERTIFICATE_VERSION}`,
    );
  }
  const publicKey = r.bytes(PEER_PUBLIC_KEY_SIZE, 'public key');
  const notBefore = r.u64('not-before');
  const notAfter = r.u64('not-after');
  const domainBytes = r.bytes16('domain');
  checkSize(domainBytes.length, 1, MAX_CERTIFICATE_DOMAIN_SIZE, 'domain', true);
  const domain = fromUtf8(domainBytes, 'peer certificate: domain');
  const signature = r.bytes(ED25519_SIGNATURE_SIZE, 'signature');
  return Object.freeze({
    version: PEER_CERTIFICATE_VERSION,
    publicKey,
    notBefore,
    notAfter,
    domain,
    signature,
  });
}

/** Reads a certificate from untrusted octets: throws `WireError` only. Does not verify it. */
export function decodePeerCertificate(bytes: Uint8Array): PeerCertificate {
  const r = new ByteReader(bytes, 'peer certificate');
  const certificate = readPeerCertificate(r);
  r.end();
  return certificate;
}

/** What a certificate is checked against: the admin set, the overlay's domain, the time (Unix seconds). */
export interface CertificatePolicy {
  readonly admins: AdminKeySet;
  readonly domain: string;
  readonly now: number;
  /** When given, the id the certificate must be for (a peer presenting its own certificate, a claimed id). */
  readonly peerId?: Uint8Array;
}

/** Checks the signature and the domain, which do not change with time (what a cache may remember). */
export function verifyCertificateSignature(c: PeerCertificate, admins: AdminKeySet, domain: string): void {
  let message: Uint8Array;
  try {
    message = certificateSigningBytes(c);
  } catch (cause) {
    throw new CertificateRefusedError('malformed', 'the certificate cannot be encoded', { cause });
  }
  if (!admins.verify(message, c.signature)) {
    throw new CertificateRefusedError(
      'bad-signature',
      'the certificate is not signed by an administrator key',
    );
  }
  if (c.domain !== domain) {
    throw new CertificateRefusedError('wrong-domain', `the certificate is for ${c.domain}, not ${domain}`);
  }
}

/** Checks the window, inclusive at both ends and widened by {@link CERTIFICATE_CLOCK_SKEW}. */
export function checkCertificateWindow(c: PeerCertificate, now: number): void {
  if (now < c.notBefore - CERTIFICATE_CLOCK_SKEW) {
    throw new CertificateRefusedError(
      'not-yet-valid',
      `the certificate is valid from ${c.notBefore}, now ${now}`,
    );
  }
  if (now > c.notAfter + CERTIFICATE_CLOCK_SKEW) {
    throw new CertificateRefusedError('expired', `the certificate expired at ${c.notAfter}, now ${now}`);
  }
}

function sameOctets(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.compare(a, b) === 0;
}

/**
 * Throws {@link CertificateRefusedError} (`DhtError('CERTIFICATE_REFUSED')`, `reason`) unless the certificate is
 * signed by a key of `admins`, is for `domain`, holds at `now` (Unix seconds, 300 s skew) and, when `peerId` is
 * given, is for that id. Revocation is the caller's (it is a lookup in the overlay).
 */
export function verifyPeerCertificate(c: PeerCertificate, policy: CertificatePolicy): void {
  verifyCertificateSignature(c, policy.admins, policy.domain);
  checkCertificateWindow(c, policy.now);
  if (policy.peerId !== undefined && !sameOctets(peerIdOf(c.publicKey), policy.peerId)) {
    throw new CertificateRefusedError('id-mismatch', 'the certificate is for another peer id');
  }
}
