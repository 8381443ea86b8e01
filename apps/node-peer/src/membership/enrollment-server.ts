import type { KeyObject } from 'node:crypto';
import {
  DEFAULT_CERTIFICATE_DAYS,
  encodePeerCertificate,
  issuePeerCertificate,
  peerIdOf,
  verifyOrigin,
  type AdminKeySet,
  type PeerCertificate,
} from '@xpp/dht';
import {
  createResponse,
  parseSipUri,
  type ServerTransaction,
  type SipRequest,
  type TransportAddress,
} from '@xpp/session-sdp';
import type { Logger } from '../logger.js';
import { localTag } from '../sip/tags.js';
import {
  CERTIFICATE_CONTENT_TYPE,
  decodeEnrollRequest,
  ENROLL_CONTENT_TYPE,
  ENROLL_USER,
  enrolledPassword,
  renewalSigned,
  type EnrollRequest,
} from './enrollment-codec.js';
import type { EnrollmentRefusal, EnrollmentTokens } from './tokens.js';

/** How far a renewal's signed-at may be from this node's clock, s (the spec's skew). */
export const RENEWAL_WINDOW_S = 300;

/** Why an enrollment or renewal was refused (logged, counted as `xpp_enrollment_refused_total{reason}`). */
export type EnrollRefusalReason = EnrollmentRefusal | 'malformed' | 'bad-renewal' | 'revoked';

export { DEFAULT_CERTIFICATE_DAYS };

export interface EnrollmentServerOptions {
  readonly domain: string;
  /** The administrator key this node holds (`admin.key`): it issues the certificates. */
  readonly adminPrivateKey: KeyObject;
  readonly admins: AdminKeySet;
  readonly tokens: EnrollmentTokens;
  /** Default {@link DEFAULT_CERTIFICATE_DAYS}. */
  readonly validityDays?: number;
  /** Whether the overlay holds a revocation for the peer id (hex). */
  readonly isRevoked: (peerIdHex: string) => Promise<boolean>;
  /** Stores (and keeps) a user credential for the enrolled host's candidate AOR, so it can register. */
  readonly addCandidateUser: (peerIdHex: string, password: string) => Promise<void>;
  readonly onRefused?: (reason: EnrollRefusalReason) => void;
  readonly onIssued?: (peerIdHex: string, kind: EnrollRequest['kind']) => void;
  readonly logger?: Logger;
  /** Unix ms. */
  readonly now?: () => number;
}

class Refused extends Error {
  constructor(readonly reason: EnrollRefusalReason) {
    super(reason);
  }
}

/**
 * The administrator node's side of enrollment (docs/decisions/node-peer-enrollment.md): takes `MESSAGE
 * sip:xpp-enroll@<domain>` with a token proof or a renewal signed under a still-valid certificate, and answers 200
 * with a new certificate for the key, or 403 (one answer for every refusal: a stranger learns nothing about
 * which tokens exist).
 */
export class EnrollmentServer {
  readonly #o: EnrollmentServerOptions;

  constructor(options: EnrollmentServerOptions) {
    this.#o = options;
  }

  /** A SIP request hook: takes enrollment MESSAGEs, leaves everything else. */
  readonly onRequest = (
    request: SipRequest,
    transaction: ServerTransaction | undefined,
    _source: TransportAddress,
  ): boolean => {
    if (request.method !== 'MESSAGE' || request.headers.has('route')) return false;
    const uri = parseSipUri(request.uri);
    if (uri?.user !== ENROLL_USER || uri.host.toLowerCase() !== this.#o.domain.toLowerCase()) return false;
    if (transaction === undefined) return true;
    void this.#answer(request).then(
      (certificate) =>
        transaction.respond(
          createResponse(request, 200, {
            toTag: localTag(),
            headers: [['Content-Type', CERTIFICATE_CONTENT_TYPE]],
            body: encodePeerCertificate(certificate),
          }),
        ),
      (error: unknown) => {
        const reason = error instanceof Refused ? error.reason : undefined;
        if (reason === undefined) this.#o.logger?.error({ err: error }, 'enrollment failed');
        else {
          this.#o.onRefused?.(reason);
          this.#o.logger?.warn({ reason }, 'enrollment refused');
        }
        transaction.respond(
          createResponse(request, reason === undefined ? 500 : 403, {
            toTag: localTag(),
            ...(reason === undefined ? {} : { reason: 'Enrollment Refused' }),
          }),
        );
      },
    );
    return true;
  };

  async #answer(request: SipRequest): Promise<PeerCertificate> {
    if (
      (request.headers.get('content-type') ?? '').split(';')[0]?.trim().toLowerCase() !== ENROLL_CONTENT_TYPE
    )
      throw new Refused('malformed');
    let enroll: EnrollRequest;
    try {
      enroll = decodeEnrollRequest(request.body);
    } catch {
      throw new Refused('malformed');
    }
    const peerId = Buffer.from(peerIdOf(enroll.publicKey)).toString('hex');
    if (await this.#o.isRevoked(peerId)) throw new Refused('revoked');
    if (enroll.kind === 'token') {
      const tokenId = Buffer.from(enroll.tokenId).toString('hex');
      const result = this.#o.tokens.redeem(tokenId, enroll.publicKey, enroll.proof);
      if ('refused' in result) throw new Refused(result.refused);
      try {
        await this.#o.addCandidateUser(peerId, enrolledPassword(result.secret, enroll.publicKey));
      } catch (error) {
        // Answered 500: the joiner may retry with the same token.
        this.#o.tokens.giveBack(tokenId, result.secret, result.expiresAt);
        throw error;
      }
    } else {
      this.#checkRenewal(enroll, peerId);
    }
    const now = Math.floor(this.#now() / 1000);
    const certificate = issuePeerCertificate(
      {
        publicKey: enroll.publicKey,
        domain: this.#o.domain,
        notBefore: now,
        notAfter: now + (this.#o.validityDays ?? DEFAULT_CERTIFICATE_DAYS) * 86_400,
      },
      this.#o.adminPrivateKey,
    );
    this.#o.onIssued?.(peerId, enroll.kind);
    this.#o.logger?.info({ peerId, kind: enroll.kind }, 'certificate issued');
    return certificate;
  }

  /** A renewal holds when signed recently by the key of a certificate that is valid now (not revoked: above). */
  #checkRenewal(enroll: Extract<EnrollRequest, { kind: 'renew' }>, peerId: string): void {
    const now = Math.floor(this.#now() / 1000);
    if (Math.abs(now - enroll.signedAt) > RENEWAL_WINDOW_S) throw new Refused('bad-renewal');
    let signer: string;
    try {
      signer = verifyOrigin(enroll.origin, renewalSigned(enroll.publicKey, enroll.signedAt), {
        admins: this.#o.admins,
        domain: this.#o.domain,
        now,
      });
    } catch {
      throw new Refused('bad-renewal');
    }
    if (signer !== peerId) throw new Refused('bad-renewal');
  }

  #now(): number {
    return (this.#o.now ?? Date.now)();
  }
}
