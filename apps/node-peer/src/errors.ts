/** Stable codes of the node's own errors (protocol errors come from the packages below). */
export type NodeErrorCode = 'INVALID_CONFIG' | 'CONFIG_FILE' | 'KEY_FILE' | 'NOT_RUNNING' | 'ALREADY_RUNNING';

export class NodeError extends Error {
  override readonly name = 'NodeError';
  readonly code: NodeErrorCode;

  constructor(code: NodeErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }

  static is(value: unknown): value is NodeError {
    return (
      value instanceof Error &&
      value.name === 'NodeError' &&
      typeof (value as { code?: unknown }).code === 'string'
    );
  }
}
