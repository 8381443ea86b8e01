import { WireError } from '@xpp/wire';
import { DhtError } from '../errors.js';
import { ED25519_SIGNATURE_SIZE, verifyEd25519 } from '../internal/ed25519.js';
import type { AdminKeySet } from './admin-key-set.js';
import {
  checkCertificateWindow,
  decodePeerCertificate,
  verifyCertificateSignature,
  type PeerCertificate,
} from './certificate.js';
import { peerIdOf, toHex } from './identity.js';
import { CertificateRefusedError } from './refusal.js';

/** Default bound of a certificate cache: a peer talks to a few dozen others; 256 covers churn among them. */
export const DEFAULT_CERTIFICATE_CACHE_SIZE = 256;

/** A certificate whose administrator signature and domain hold, with the peer id it is for. */
export interface CertifiedPeer {
  readonly certificate: PeerCertificate;
  readonly peerId: Uint8Array;
  /** `peerId` in lower-case hex. */
  readonly id: string;
}

/**
 * Certificates already checked against one administrator set and domain, keyed by their octets (bounded, least
 * recently used first out), so that a peer's repeated session setups cost one signature check (the holder's), not
 * two. Only what cannot change is remembered: the window is checked at every use, revocation by the caller.
 */
export class CertificateCache {
  readonly #admins: AdminKeySet;
  readonly #domain: string;
  readonly #max: number;
  // A Map iterates in insertion order: re-inserting on a hit makes its first key the least recently used.
  readonly #entries = new Map<string, CertifiedPeer>();

  constructor(options: { admins: AdminKeySet; domain: string; maxEntries?: number }) {
    const max = options.maxEntries ?? DEFAULT_CERTIFICATE_CACHE_SIZE;
    if (!Number.isInteger(max) || max < 0) {
      throw new DhtError('INVALID_ARGUMENT', `maxEntries must be a non-negative integer, got ${String(max)}`);
    }
    this.#admins = options.admins;
    this.#domain = options.domain;
    this.#max = max;
  }

  get size(): number {
    return this.#entries.size;
  }

  /** Whether this cache's entries were checked against `admins` and `domain`. */
  checksFor(admins: AdminKeySet, domain: string): boolean {
    return this.#admins === admins && this.#domain === domain;
  }

  /** The certified peer of certificate octets valid at `now` (Unix seconds); {@link CertificateRefusedError} if not. */
  check(octets: Uint8Array, now: number): CertifiedPeer {
    const key = Buffer.from(octets.buffer, octets.byteOffset, octets.byteLength).toString('latin1');
    let peer = this.#entries.get(key);
    if (peer !== undefined) {
      this.#entries.delete(key);
    } else {
      peer = this.#verify(octets);
    }
    checkCertificateWindow(peer.certificate, now);
    if (this.#max > 0) {
      this.#entries.set(key, peer);
      if (this.#entries.size > this.#max) {
        this.#entries.delete(this.#entries.keys().next().value as string);
      }
    }
    return peer;
  }

  #verify(octets: Uint8Array): CertifiedPeer {
    let certificate: PeerCertificate;
    try {
      // A copy: the cache outlives the datagram or SDP buffer the octets are a view of.
      certificate = decodePeerCertificate(octets.slice());
    } catch (cause) {
      if (!WireError.is(cause)) throw cause;
      throw new CertificateRefusedError('malformed', `not a peer certificate: ${cause.message}`, { cause });
    }
    verifyCertificateSignature(certificate, this.#admins, this.#domain);
    const peerId = peerIdOf(certificate.publicKey);
    return Object.freeze({ certificate, peerId, id: toHex(peerId) });
  }
}

/**
 * `options.cache` when given — after checking it was made for the same administrator set (the same object) and
 * domain, since an entry is only as good as the policy it was checked against — or a new cache of
 * `options.cacheSize` entries.
 */
export function certificateCacheFor(options: {
  readonly admins: AdminKeySet;
  readonly domain: string;
  readonly cacheSize?: number;
  readonly cache?: CertificateCache;
}): CertificateCache {
  const { admins, domain, cache, cacheSize } = options;
  if (cache === undefined)
    return new CertificateCache({
      admins,
      domain,
      ...(cacheSize === undefined ? {} : { maxEntries: cacheSize }),
    });
  if (!cache.checksFor(admins, domain))
    throw new DhtError(
      'INVALID_ARGUMENT',
      'a shared certificate cache must be for the same admins and domain',
    );
  return cache;
}

/**
 * Splits `blob` = certificate octets ‖ 64-octet signature, checks the certificate through `cache` and the signature
 * over `message` with the certified key: the blob of `a=xpp-auth` and of a signed origin.
 */
export function checkCertifiedSignature(
  cache: CertificateCache,
  blob: Uint8Array,
  message: Uint8Array,
  now: number,
): CertifiedPeer {
  if (blob.length <= ED25519_SIGNATURE_SIZE) {
    throw new CertificateRefusedError(
      'malformed',
      `a certificate and a signature need more than ${blob.length} octets`,
    );
  }
  const split = blob.length - ED25519_SIGNATURE_SIZE;
  const peer = cache.check(blob.subarray(0, split), now);
  if (!verifyEd25519(peer.certificate.publicKey, message, blob.subarray(split))) {
    throw new CertificateRefusedError(
      'bad-transcript-signature',
      `peer ${peer.id} did not sign what it sent`,
    );
  }
  return peer;
}
