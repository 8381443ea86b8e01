import type { SessionAuthenticator } from '@xpp/session-sdp';
import type { AdminKeySet } from './admin-key-set.js';
import { certificateCacheFor, checkCertifiedSignature, type CertificateCache } from './certificate-cache.js';
import { encodePeerCertificate, type PeerCertificate } from './certificate.js';
import { signWithIdentity, type PeerIdentity } from './identity.js';
import { CertificateRefusedError, certificateRefusalOf, type CertificateRefusal } from './refusal.js';

// The authenticator shape is session-sdp's (xpp-pcan §5.5 mechanism); this package supplies the certificate policy.
export type { SessionAuthenticator };

/** A wall clock in milliseconds (the project's `Clock` has it). */
export interface WallClock {
  wallNow(): number;
}

export interface PeerAuthenticatorOptions {
  readonly identity: PeerIdentity;
  /** This peer's certificate: for `identity`'s key (else `CERTIFICATE_REFUSED`, `id-mismatch`). */
  readonly certificate: PeerCertificate;
  readonly admins: AdminKeySet;
  /** The overlay's domain: a certificate for another is refused. */
  readonly domain: string;
  readonly clock: WallClock;
  /**
   * True when the peer id (hex) is revoked: a GET of `revoked:<id>` in the overlay, say. A lookup that throws
   * refuses the session with its error (it cannot vouch for the peer); answer false where that is the policy.
   */
  readonly isRevoked?: (peerIdHex: string) => boolean | Promise<boolean>;
  /** Told each refusal's reason (for counters), before the refusal is thrown. */
  readonly refused?: (reason: CertificateRefusal) => void;
  /** Bound of the verified-certificate cache. Default {@link DEFAULT_CERTIFICATE_CACHE_SIZE}. */
  readonly cacheSize?: number;
  /**
   * The verified-certificate cache to use (then `cacheSize` is not used): a node shares one between its session
   * authenticator and its origin verifier, which see the same peers' certificates. It must have been made for the
   * same `admins` and `domain` (else `INVALID_ARGUMENT`): what it remembers was checked against those.
   */
  readonly cache?: CertificateCache;
}

/** Unix seconds of a wall clock in milliseconds. */
export function unixSeconds(clock: WallClock): number {
  return Math.floor(clock.wallNow() / 1000);
}

/** Throws `id-mismatch` unless `certificate` certifies `identity`'s own key. */
export function checkOwnCertificate(identity: PeerIdentity, certificate: PeerCertificate): void {
  if (Buffer.compare(identity.publicKey, certificate.publicKey) !== 0) {
    throw new CertificateRefusedError('id-mismatch', `the certificate is not for peer ${identity.id}'s key`);
  }
}

/**
 * The overlay's certificate policy as a session authenticator: this side's `a=xpp-auth` is its certificate octets
 * ‖ its identity key's signature over the transcript; the other side's must carry a certificate of `admins` for
 * `domain`, valid now, not revoked, whose key signed the transcript. `verify` answers the certified peer id (hex).
 */
export function createPeerAuthenticator(options: PeerAuthenticatorOptions): SessionAuthenticator {
  const { identity, certificate, clock, isRevoked, refused } = options;
  checkOwnCertificate(identity, certificate);
  const certificateOctets = encodePeerCertificate(certificate);
  const cache = certificateCacheFor(options);

  const refuse = (error: unknown): never => {
    const reason = certificateRefusalOf(error);
    if (reason !== undefined) refused?.(reason);
    throw error;
  };
  const revokedCheck = (id: string, revoked: boolean): string => {
    if (revoked) refuse(new CertificateRefusedError('revoked', `peer ${id} is revoked`));
    return id;
  };

  return {
    sign(transcript) {
      const signature = signWithIdentity(identity, transcript);
      const blob = new Uint8Array(certificateOctets.length + signature.length);
      blob.set(certificateOctets);
      blob.set(signature, certificateOctets.length);
      return blob;
    },
    verify(auth, transcript) {
      let id: string;
      try {
        id = checkCertifiedSignature(cache, auth, transcript, unixSeconds(clock)).id;
      } catch (error) {
        return refuse(error);
      }
      if (isRevoked === undefined) return id;
      const revoked = isRevoked(id);
      if (typeof revoked === 'boolean') return revokedCheck(id, revoked);
      return revoked.then((r) => revokedCheck(id, r));
    },
  };
}
