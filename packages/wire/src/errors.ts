import { isCodedError, XppError } from './coded-error.js';

/** Stable codes for every way untrusted bytes (or out-of-range values to encode) can be wrong. */
export type WireErrorCode =
  /** Fewer octets than a header or a declared length needs. */
  | 'TRUNCATED'
  /** A fragment whose version is not 1. */
  | 'BAD_VERSION'
  /** A declared length that does not match the octets present (message parameters, fixed-size values). */
  | 'LENGTH_MISMATCH'
  /** Larger than a configured or protocol bound (datagram, message, option value). */
  | 'TOO_LARGE'
  /** An option value that its codec cannot read (wrong size, invalid UTF-8, …). */
  | 'BAD_VALUE'
  /** A value to encode that does not fit its field (negative, not an integer, too wide). */
  | 'INVALID_FIELD'
  /** Text input that is not hex (CLI, tools). */
  | 'BAD_HEX'
  /** Text input that is not the JSON form of a fragment or message (CLI, tools). */
  | 'BAD_JSON'
  /** A required option is absent from a message. */
  | 'MISSING_OPTION'
  /** Two different definitions for one option or operation type. */
  | 'REGISTRY_CONFLICT';

const WIRE_ERROR_CODES: ReadonlySet<string> = new Set<WireErrorCode>([
  'TRUNCATED',
  'BAD_VERSION',
  'LENGTH_MISMATCH',
  'TOO_LARGE',
  'BAD_VALUE',
  'INVALID_FIELD',
  'BAD_HEX',
  'BAD_JSON',
  'MISSING_OPTION',
  'REGISTRY_CONFLICT',
]);

/**
 * The only error `@xpp/wire` ever throws. Decoders throw it for every malformed input, so a caller can
 * count and drop by `code` without guarding against anything else.
 */
export class WireError extends XppError<WireErrorCode> {
  override readonly name = 'WireError';

  /** True for a `WireError` from any copy of this package (ESM and CJS builds are distinct classes). */
  static is(value: unknown, code?: WireErrorCode): value is WireError {
    return isCodedError(value, 'WireError', WIRE_ERROR_CODES, code);
  }
}
