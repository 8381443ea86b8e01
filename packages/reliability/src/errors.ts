import { isCodedError, XppError } from '@xpp/wire';
/** Stable codes for every way delivery or an operation can fail. */
export type ReliabilityErrorCode =
  /** A reliable message was not acknowledged after the retry limit or the give-up time (spec §5.2). */
  | 'TIMEOUT'
  /** The caller's AbortSignal fired. */
  | 'ABORTED'
  /** The channel was closed (by the owner, or because of another failure: see `cause`). */
  | 'CLOSED'
  /** Three keepalives in a row went unanswered (spec §6). */
  | 'PEER_DEAD'
  /** A partial message got no new fragment in time: the session's reliability is over (spec §5.1). */
  | 'REASSEMBLY_TIMEOUT'
  /** The opening SYN was not acknowledged, or the peer's SYN never came, in time (spec §4). */
  | 'OPEN_TIMEOUT'
  /** A message over the maximum message size, or an unreliable one over one datagram. */
  | 'TOO_LARGE'
  /** Queuing the message would exceed `maxQueuedOctets`. */
  | 'QUEUE_FULL'
  /** A request got no response within its deadline (spec §5.2). */
  | 'REQUEST_TIMEOUT'
  /** The peer answered a request with an `ERROR` option; `status` holds its code (e.g. 420). */
  | 'ERROR_RESPONSE'
  /** More requests in flight than `maxOperations`. */
  | 'TOO_MANY_OPERATIONS'
  /** An option outside its allowed range. */
  | 'INVALID_OPTION';

const CODES: ReadonlySet<string> = new Set<ReliabilityErrorCode>([
  'TIMEOUT',
  'ABORTED',
  'CLOSED',
  'PEER_DEAD',
  'REASSEMBLY_TIMEOUT',
  'OPEN_TIMEOUT',
  'TOO_LARGE',
  'QUEUE_FULL',
  'REQUEST_TIMEOUT',
  'ERROR_RESPONSE',
  'TOO_MANY_OPERATIONS',
  'INVALID_OPTION',
]);

export interface ReliabilityErrorDetails {
  readonly cause?: unknown;
  /** The XPP error code of an `ERROR_RESPONSE` (400, 404, 420, 503, …). */
  readonly status?: number;
  /** For status 420: the option types the peer listed in UNKNOWN-OPTIONS. */
  readonly unknownOptions?: readonly number[];
  /** For status 503: the peer's RETRY-AFTER in seconds. */
  readonly retryAfter?: number;
}

/** The only error `@xpp/reliability` throws or rejects with. */
export class ReliabilityError extends XppError<ReliabilityErrorCode> {
  override readonly name = 'ReliabilityError';
  readonly status: number | undefined;
  readonly unknownOptions: readonly number[] | undefined;
  readonly retryAfter: number | undefined;

  constructor(code: ReliabilityErrorCode, message: string, details: ReliabilityErrorDetails = {}) {
    super(code, message, details.cause === undefined ? undefined : { cause: details.cause });
    this.status = details.status;
    this.unknownOptions = details.unknownOptions;
    this.retryAfter = details.retryAfter;
  }

  /** True for a `ReliabilityError` from any copy of this package (ESM and CJS builds are distinct classes). */
  static is(value: unknown, code?: ReliabilityErrorCode): value is ReliabilityError {
    return isCodedError(value, 'ReliabilityError', CODES, code);
  }
}

/** The rejection for a fired AbortSignal, keeping its reason as the cause. */
export function abortError(signal: AbortSignal, what: string): ReliabilityError {
  return new ReliabilityError('ABORTED', `${what} aborted`, { cause: signal.reason });
}
