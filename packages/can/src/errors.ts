import { isCodedError, XppError } from '@xpp/wire';
/** Stable codes for every way a geometry call or a simulation option can be wrong. */
export type CanErrorCode =
  /** A dimension count outside 1–8. */
  | 'INVALID_DIMENSIONS'
  /** A point whose length is not d or whose coordinates are not u32. */
  | 'INVALID_POINT'
  /** A split path that is not a string of 0/1, or deeper than the space allows. */
  | 'INVALID_ZONE'
  /** Splitting a zone that is already as deep as the space allows (32·d, at most 255). */
  | 'ZONE_TOO_DEEP'
  /** Merging, or asking for the sibling or parent of, zones that are not siblings (or the whole space). */
  | 'NOT_SIBLINGS'
  /** Zones and points of different dimension counts used together. */
  | 'DIMENSION_MISMATCH'
  /** A takeover choice with nobody to take the zone. */
  | 'NO_SURVIVORS'
  /** Text that is not a SIP address-of-record. */
  | 'BAD_AOR'
  /** A simulator or takeover option out of its range. */
  | 'INVALID_OPTION';

const CAN_ERROR_CODES: ReadonlySet<string> = new Set<CanErrorCode>([
  'INVALID_DIMENSIONS',
  'INVALID_POINT',
  'INVALID_ZONE',
  'ZONE_TOO_DEEP',
  'NOT_SIBLINGS',
  'DIMENSION_MISMATCH',
  'NO_SURVIVORS',
  'BAD_AOR',
  'INVALID_OPTION',
]);

/**
 * What `@xpp/can` throws for a wrong argument. Decoding untrusted octets is the exception: the point and zone
 * codecs keep the `ValueCodec` contract of `@xpp/wire` and throw `WireError`, so a receiver counts and drops
 * them like any other malformed option.
 */
export class CanError extends XppError<CanErrorCode> {
  override readonly name = 'CanError';

  /** True for a `CanError` from any copy of this package (ESM and CJS builds are distinct classes). */
  static is(value: unknown, code?: CanErrorCode): value is CanError {
    return isCodedError(value, 'CanError', CAN_ERROR_CODES, code);
  }
}
