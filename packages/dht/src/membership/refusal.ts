import { DhtError } from '../errors.js';

/** Why a peer certificate, or what it vouches for, was refused (spec §5.3, §5.5); counted per reason. */
export type CertificateRefusal =
  /** Octets that are not a certificate (or a blob that is not certificate ‖ signature). */
  | 'malformed'
  /** Not signed by any key of the administrator set. */
  | 'bad-signature'
  /** Before not-before minus the allowed skew. */
  | 'not-yet-valid'
  /** After not-after plus the allowed skew. */
  | 'expired'
  /** Issued for another overlay domain. */
  | 'wrong-domain'
  /** Its peer id has an administrator-signed revocation. */
  | 'revoked'
  /** The certified key is not the key (or id) it is presented for. */
  | 'id-mismatch'
  /** The certificate holds but the holder's signature over the session transcript (or origin) does not. */
  | 'bad-transcript-signature';

export const CERTIFICATE_REFUSALS: readonly CertificateRefusal[] = Object.freeze([
  'malformed',
  'bad-signature',
  'not-yet-valid',
  'expired',
  'wrong-domain',
  'revoked',
  'id-mismatch',
  'bad-transcript-signature',
]);

/** `DhtError('CERTIFICATE_REFUSED')` with the reason, for callers that count refusals by reason. */
export class CertificateRefusedError extends DhtError {
  readonly reason: CertificateRefusal;

  constructor(reason: CertificateRefusal, message: string, options?: { cause?: unknown }) {
    super('CERTIFICATE_REFUSED', `${message} (${reason})`, options);
    this.reason = reason;
  }
}

/** The refusal reason of an error from any copy of this package, or undefined for any other error. */
export function certificateRefusalOf(error: unknown): CertificateRefusal | undefined {
  if (!DhtError.is(error, 'CERTIFICATE_REFUSED')) return undefined;
  const reason: unknown = (error as DhtError & { reason?: unknown }).reason;
  return CERTIFICATE_REFUSALS.find((r) => r === reason);
}
