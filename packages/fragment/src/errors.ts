import { isCodedError, XppError } from '@xpp/wire';
/** Stable codes for every way fragmentation or reassembly can fail. */
export type FragmentErrorCode =
  /** An unreliable message that does not fit one datagram, or a message above the maximum message size. */
  | 'TOO_LARGE'
  /** An option outside its allowed range (maximum datagram size, bounds, timeouts). */
  | 'INVALID_OPTION'
  /** A partial message got no new fragment within the partial-message timeout (spec §5.1). */
  | 'PARTIAL_TIMEOUT';

const FRAGMENT_ERROR_CODES: ReadonlySet<string> = new Set<FragmentErrorCode>([
  'TOO_LARGE',
  'INVALID_OPTION',
  'PARTIAL_TIMEOUT',
]);

/** The only error `@xpp/fragment` throws or reports. */
export class FragmentError extends XppError<FragmentErrorCode> {
  override readonly name = 'FragmentError';

  /** True for a `FragmentError` from any copy of this package (ESM and CJS builds are distinct classes). */
  static is(value: unknown, code?: FragmentErrorCode): value is FragmentError {
    return isCodedError(value, 'FragmentError', FRAGMENT_ERROR_CODES, code);
  }
}
