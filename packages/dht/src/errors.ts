import { isCodedError, WireError, XppError } from '@xpp/wire';
/** Stable codes for every way a DHT request, record or argument can be refused. */
export type DhtErrorCode =
  /** A record kind other than BINDING, CREDENTIAL, PEER or REVOCATION. */
  | 'UNKNOWN_KIND'
  /** An empty key, or a key longer than the store's `maxKeySize`. */
  | 'INVALID_KEY'
  /** A lifetime of zero or not a whole number of seconds. */
  | 'INVALID_LIFETIME'
  /** A record value its kind cannot read (e.g. a BINDING that is not a binding). */
  | 'INVALID_VALUE'
  /** Text that is not a SIP address-of-record. */
  | 'INVALID_AOR'
  /** A value larger than the store's `maxValueSize`. */
  | 'VALUE_TOO_LARGE'
  /** The store is at its record or octet bound. */
  | 'STORE_FULL'
  /** An AOR already holds `maxBindingsPerAor` bindings. */
  | 'TOO_MANY_BINDINGS'
  /** A CREDENTIAL whose administrator signature does not verify. */
  | 'BAD_SIGNATURE'
  /** A CREDENTIAL that is signed but may not be stored (no administrator key configured, or key ≠ its AOR). */
  | 'CREDENTIAL_REFUSED'
  /** @deprecated Refusals of an older CREDENTIAL are `STALE_SERIAL` now; kept so that code naming it still builds. */
  | 'STALE_CREDENTIAL'
  /**
   * A CREDENTIAL (or tombstone) whose serial is not above the stored one for its AOR, or a REVOCATION that differs
   * from the stored one: an older signed record never undoes the administrator's latest change.
   */
  | 'STALE_SERIAL'
  /** The writing peer is at its bound of records or octets in this store (`maxRecordsPerWriter` / `maxOctetsPerWriter`). */
  | 'WRITER_QUOTA'
  /** A digest response with an algorithm or qop this profile does not accept. */
  | 'UNSUPPORTED_DIGEST'
  /** A ROUTE whose hop limit is exhausted before reaching the owner. */
  | 'TOO_MANY_HOPS'
  /** The pending-forward table is at its bound. */
  | 'PENDING_FULL'
  /** Administrator key material that is not an Ed25519 key. */
  | 'INVALID_ADMIN_KEY'
  /** A peer identity key (data directory, argument) that is not an Ed25519 private key. */
  | 'INVALID_IDENTITY_KEY'
  /** A peer certificate (or what it signs) that does not hold; the error's `reason` says why (spec §5.3, §5.5). */
  | 'CERTIFICATE_REFUSED'
  /** An enrollment request whose token is unknown, used, expired, or whose proof does not hold. */
  | 'ENROLLMENT_REFUSED'
  /** A caller's argument out of range (a programming error, not remote input). */
  | 'INVALID_ARGUMENT'
  /** An operation from a peer that may not make it (uninvited JOIN, NEIGHBOUR-UPDATE from a non-neighbour). */
  | 'FORBIDDEN'
  /** No neighbour is closer to the target (a hole in the neighbour table), or the next hop failed. */
  | 'NO_ROUTE'
  /** The node is not (or no longer) a peer of an overlay: it owns no zone. */
  | 'NOT_A_PEER'
  /** A routed request failed downstream; `status` is the code it failed with. */
  | 'REMOTE_ERROR'
  /** A TAKEOVER claim a preferred survivor contests or that comes too late, or a handoff or replica of a zone the node owns. */
  | 'CONFLICT'
  /** The node is handing the zone over (LEAVE, background merge): retry once the taker has announced it. */
  | 'LEAVING'
  /**
   * A write the owner made that none of the zone's replica holders committed (spec §4): it is held on one peer
   * only, so it is not acknowledged; retry (docs/decisions/dht-replica-ack.md).
   */
  | 'NOT_REPLICATED';

/**
 * The XPP `ERROR` code (spec `xpp.md` §3) a node answers with for each refusal. 483 is SIP's "Too Many Hops",
 * which the base table lacks (see docs/decisions/dht-operation-codes.md).
 */
export const DHT_ERROR_STATUS: Readonly<Record<DhtErrorCode, number>> = Object.freeze({
  UNKNOWN_KIND: 400,
  INVALID_KEY: 400,
  INVALID_LIFETIME: 400,
  INVALID_VALUE: 400,
  INVALID_AOR: 400,
  VALUE_TOO_LARGE: 413,
  STORE_FULL: 503,
  TOO_MANY_BINDINGS: 503,
  BAD_SIGNATURE: 403,
  CREDENTIAL_REFUSED: 403,
  STALE_CREDENTIAL: 409,
  STALE_SERIAL: 409,
  WRITER_QUOTA: 503,
  UNSUPPORTED_DIGEST: 400,
  TOO_MANY_HOPS: 483,
  PENDING_FULL: 503,
  INVALID_ADMIN_KEY: 500,
  INVALID_IDENTITY_KEY: 500,
  CERTIFICATE_REFUSED: 403,
  ENROLLMENT_REFUSED: 403,
  INVALID_ARGUMENT: 500,
  FORBIDDEN: 403,
  NO_ROUTE: 480,
  NOT_A_PEER: 480,
  REMOTE_ERROR: 500,
  CONFLICT: 409,
  LEAVING: 503,
  NOT_REPLICATED: 503,
});

const DHT_ERROR_CODES: ReadonlySet<string> = new Set(Object.keys(DHT_ERROR_STATUS));

/**
 * The error `@xpp/dht` throws for every refusal. Decoders of untrusted bytes throw `WireError` from
 * `@xpp/wire` instead, so that a node counts and drops both by `code`.
 */
export class DhtError extends XppError<DhtErrorCode> {
  override readonly name = 'DhtError';
  readonly #status: number | undefined;

  /** `status` overrides the code's usual one: a `REMOTE_ERROR` carries what the remote peer answered. */
  constructor(code: DhtErrorCode, message: string, options?: { cause?: unknown; status?: number }) {
    super(code, message, options);
    this.#status = options?.status;
  }

  /** The XPP `ERROR` code to answer a request refused with this error. */
  get status(): number {
    return this.#status ?? DHT_ERROR_STATUS[this.code];
  }

  /** True for a `DhtError` from any copy of this package (ESM and CJS builds are distinct classes). */
  static is(value: unknown, code?: DhtErrorCode): value is DhtError {
    return isCodedError(value, 'DhtError', DHT_ERROR_CODES, code);
  }
}

/** The XPP status a failure answers with: a `DhtError`'s, 400 for malformed input, else 500. */
export function statusOf(error: unknown): number {
  return DhtError.is(error) ? error.status : WireError.is(error) ? 400 : 500;
}
