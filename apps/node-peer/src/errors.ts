import { isCodedError, XppError } from '@xpp/wire';

/** Stable codes of the node's own errors (protocol errors come from the packages below). */
export type NodeErrorCode =
  | 'INVALID_CONFIG'
  | 'CONFIG_FILE'
  | 'KEY_FILE'
  | 'NOT_RUNNING'
  | 'ALREADY_RUNNING'
  /** A running node answered an admin or status request with an error. */
  | 'REFUSED'
  /** The record store's file is not a sound database (torn, truncated, overwritten): the peer will not serve it. */
  | 'STORE_CORRUPT'
  /** The record store's file has a schema this release does not know (newer, or not a record store at all). */
  | 'STORE_SCHEMA'
  /** The record store's file could not be opened, read or written (permissions, a full disk). */
  | 'STORE_IO'
  /** The data directory has been in an overlay: `start` would fork it; rejoin (`join --via`) or `--new-overlay`. */
  | 'OVERLAY_FORK'
  /** A users backup that does not decrypt (wrong passphrase, changed octets) or is not a backup. */
  | 'BACKUP_REFUSED'
  /** A walk of the overlay that did not reach every owner: a list or backup would be incomplete. */
  | 'INCOMPLETE';

const NODE_ERROR_CODES: ReadonlySet<string> = new Set<NodeErrorCode>([
  'INVALID_CONFIG',
  'CONFIG_FILE',
  'KEY_FILE',
  'NOT_RUNNING',
  'ALREADY_RUNNING',
  'REFUSED',
  'STORE_CORRUPT',
  'STORE_SCHEMA',
  'STORE_IO',
  'OVERLAY_FORK',
  'BACKUP_REFUSED',
  'INCOMPLETE',
]);

export class NodeError extends XppError<NodeErrorCode> {
  override readonly name = 'NodeError';

  static is(value: unknown, code?: NodeErrorCode): value is NodeError {
    return isCodedError(value, 'NodeError', NODE_ERROR_CODES, code);
  }
}
