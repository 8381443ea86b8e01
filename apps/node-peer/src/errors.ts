import { isCodedError, XppError } from '@xpp/wire';

/** Stable codes of the node's own errors (protocol errors come from the packages below). */
export type NodeErrorCode =
  | 'INVALID_CONFIG'
  | 'CONFIG_FILE'
  | 'KEY_FILE'
  | 'NOT_RUNNING'
  | 'ALREADY_RUNNING'
  /** A running node answered an admin or status request with an error. */
  | 'REFUSED';

const NODE_ERROR_CODES: ReadonlySet<string> = new Set<NodeErrorCode>([
  'INVALID_CONFIG',
  'CONFIG_FILE',
  'KEY_FILE',
  'NOT_RUNNING',
  'ALREADY_RUNNING',
  'REFUSED',
]);

export class NodeError extends XppError<NodeErrorCode> {
  override readonly name = 'NodeError';

  static is(value: unknown, code?: NodeErrorCode): value is NodeError {
    return isCodedError(value, 'NodeError', NODE_ERROR_CODES, code);
  }
}
