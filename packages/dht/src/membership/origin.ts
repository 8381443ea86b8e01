import type { AdminKeySet } from './admin-key-set.js';
import { CertificateCache, certificateCacheFor, checkCertifiedSignature } from './certificate-cache.js';
import { encodePeerCertificate, type PeerCertificate } from './certificate.js';
import { signWithIdentity, type PeerIdentity } from './identity.js';
import { checkOwnCertificate, unixSeconds, type WallClock } from './peer-authenticator.js';

// Its own label: an origin signature can never be taken for a session transcript's, or the reverse.
const LABEL = new TextEncoder().encode('xpp-pcan origin v1');

function labelled(bytes: Uint8Array): Uint8Array {
  const message = new Uint8Array(LABEL.length + bytes.length);
  message.set(LABEL);
  message.set(bytes, LABEL.length);
  return message;
}

/**
 * The signed origin of a routed request (the ORIGIN option of REGISTER-BIND): certificate octets ‖ the identity
 * key's Ed25519 signature over `xpp-pcan origin v1` ‖ `bytes` (what the request must not be able to change).
 */
export function signOrigin(
  identity: PeerIdentity,
  certificate: PeerCertificate,
  bytes: Uint8Array,
): Uint8Array {
  checkOwnCertificate(identity, certificate);
  const octets = encodePeerCertificate(certificate);
  const signature = signWithIdentity(identity, labelled(bytes));
  const origin = new Uint8Array(octets.length + signature.length);
  origin.set(octets);
  origin.set(signature, octets.length);
  return origin;
}

export interface OriginPolicy {
  readonly admins: AdminKeySet;
  readonly domain: string;
  /** Unix seconds. */
  readonly now: number;
}

/**
 * The origin's certified peer id (hex), once its certificate holds (admins, domain, window) and its key signed
 * `bytes`; `DhtError('CERTIFICATE_REFUSED')` with the reason otherwise. Checks the certificate every time: a node
 * verifying many uses {@link createOriginVerifier}.
 */
export function verifyOrigin(origin: Uint8Array, bytes: Uint8Array, policy: OriginPolicy): string {
  const cache = new CertificateCache({ admins: policy.admins, domain: policy.domain, maxEntries: 0 });
  return checkCertifiedSignature(cache, origin, labelled(bytes), policy.now).id;
}

/**
 * {@link verifyOrigin} with a cache of verified certificates and the time from `clock`: its own, or `cache` (for
 * the same `admins` and `domain`, else `INVALID_ARGUMENT`) shared with the node's session authenticator.
 */
export function createOriginVerifier(options: {
  admins: AdminKeySet;
  domain: string;
  clock: WallClock;
  cacheSize?: number;
  cache?: CertificateCache;
}): (origin: Uint8Array, bytes: Uint8Array) => string {
  const cache = certificateCacheFor(options);
  return (origin, bytes) =>
    checkCertifiedSignature(cache, origin, labelled(bytes), unixSeconds(options.clock)).id;
}
