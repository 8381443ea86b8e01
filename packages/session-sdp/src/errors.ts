import { isCodedError, XppError } from '@xpp/wire';
/** Stable codes for everything `@xpp/session-sdp` can refuse. */
export type SessionErrorCode =
  /** An SDP body that cannot set up an XPP session; `line` names the offending line when there is one. */
  | 'BAD_SDP'
  /** A SIP message that breaks RFC 3261 syntax or a required-header rule. */
  | 'BAD_SIP'
  /** Input or a table beyond one of the package's named bounds. */
  | 'TOO_LARGE'
  /** A value to encode or an option outside its range. */
  | 'INVALID_ARGUMENT'
  /** A SIP transaction that got no final response in 64×T1 (Timer B or F). */
  | 'SIP_TIMEOUT'
  /** A SIP request answered with a non-2xx final response; `status` holds it. */
  | 'SIP_REJECTED'
  /** The socket or transport refused to send or is closed. */
  | 'TRANSPORT'
  /** A sealed payload that does not authenticate, or is shorter than counter and tag. */
  | 'AUTH_FAILED'
  /** One direction's send counter reached its bound (2^53 - 1 fragments): the session must be rekeyed or end. */
  | 'COUNTER_EXHAUSTED'
  /** Every ltag is in use or quarantined. */
  | 'LTAG_EXHAUSTED'
  /** A datagram that is not a well-formed STUN message (RFC 8489). */
  | 'BAD_STUN'
  /** A STUN binding request got no response after its last retransmission. */
  | 'STUN_TIMEOUT'
  /** An XPP session did not open within 64×T1 (spec §4). */
  | 'SETUP_TIMEOUT'
  /** The peer offered no key while this side requires security (spec §7). */
  | 'INSECURE_PEER'
  /** The other side of a session set up with a `SessionAuthenticator` did not authenticate (xpp-pcan §5.5). */
  | 'UNAUTHENTICATED'
  /** The other side authenticated, but the application's `admit` hook refused it. */
  | 'FORBIDDEN'
  /** The other side belongs to a different overlay (`a=xpp-overlay`, xpp-pcan §4): no session between them. */
  | 'OVERLAY_MISMATCH'
  /** Waiting was cancelled by an AbortSignal. */
  | 'ABORTED'
  /** The object was closed before or while the operation ran. */
  | 'CLOSED';

const SESSION_ERROR_CODES: ReadonlySet<string> = new Set<SessionErrorCode>([
  'BAD_SDP',
  'BAD_SIP',
  'TOO_LARGE',
  'INVALID_ARGUMENT',
  'SIP_TIMEOUT',
  'SIP_REJECTED',
  'TRANSPORT',
  'AUTH_FAILED',
  'COUNTER_EXHAUSTED',
  'LTAG_EXHAUSTED',
  'BAD_STUN',
  'STUN_TIMEOUT',
  'SETUP_TIMEOUT',
  'INSECURE_PEER',
  'UNAUTHENTICATED',
  'FORBIDDEN',
  'OVERLAY_MISMATCH',
  'ABORTED',
  'CLOSED',
]);

/** Extra facts some codes carry. */
export interface SessionErrorDetails {
  /** `BAD_SDP`/`BAD_SIP`: the offending line as received (truncated to 200 characters). */
  readonly line?: string;
  /** `BAD_SDP`/`BAD_SIP`: its 1-based line number when known. */
  readonly lineNumber?: number;
  /** `SIP_REJECTED`: the final status code. */
  readonly status?: number;
  readonly cause?: unknown;
}

/**
 * The only error `@xpp/session-sdp` throws or rejects with. Every decoder of untrusted input throws it and
 * nothing else, so a caller can count and drop by `code`.
 */
export class SessionError extends XppError<SessionErrorCode> {
  override readonly name = 'SessionError';
  readonly line: string | undefined;
  readonly lineNumber: number | undefined;
  readonly status: number | undefined;

  constructor(code: SessionErrorCode, message: string, details: SessionErrorDetails = {}) {
    super(code, message, details.cause === undefined ? undefined : { cause: details.cause });
    this.line = details.line === undefined ? undefined : details.line.slice(0, 200);
    this.lineNumber = details.lineNumber;
    this.status = details.status;
  }

  /** True for a `SessionError` from any copy of this package (ESM and CJS builds are distinct classes). */
  static is(value: unknown, code?: SessionErrorCode): value is SessionError {
    return isCodedError(value, 'SessionError', SESSION_ERROR_CODES, code);
  }
}

/** The error an aborted wait rejects with. */
export function abortError(signal: AbortSignal): SessionError {
  return new SessionError('ABORTED', 'aborted', { cause: signal.reason });
}
