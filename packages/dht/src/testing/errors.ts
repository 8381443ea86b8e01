import { isCodedError, XppError } from '@xpp/wire';

/** Stable codes of the testnet helpers' errors. */
export type TestnetErrorCode =
  /** A waited-for state (a settled overlay, a condition) did not come before the deadline. */
  | 'TIMEOUT'
  /** A caller's argument out of range: a size below 1, a node that is not a live peer of this testnet. */
  | 'INVALID_ARGUMENT';

const TESTNET_ERROR_CODES: ReadonlySet<string> = new Set<TestnetErrorCode>(['TIMEOUT', 'INVALID_ARGUMENT']);

/** What `@xpp/dht/testing` throws. */
export class TestnetError extends XppError<TestnetErrorCode> {
  override readonly name = 'TestnetError';

  /** True for a `TestnetError` from any copy of this package. */
  static is(value: unknown, code?: TestnetErrorCode): value is TestnetError {
    return isCodedError(value, 'TestnetError', TESTNET_ERROR_CODES, code);
  }
}
