/**
 * The base of every XPP package's error class: an `Error` with a stable string `code`. A package subclasses it
 * once (`WireError`, `CanError`, …), sets `name`, and implements `is()` with {@link isCodedError}.
 */
export class XppError<Code extends string = string> extends Error {
  readonly code: Code;

  constructor(code: Code, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

/**
 * The body of an error class's `static is()`: true for an error named `name` whose `code` is one of `codes` (and
 * `code`, when given). Checks by name and code rather than `instanceof`, because the ESM and CJS builds of a
 * package, or two installed copies, are distinct classes.
 */
export function isCodedError(
  value: unknown,
  name: string,
  codes: { has(code: string): boolean },
  code?: string,
): boolean {
  if (!(value instanceof Error) || value.name !== name) return false;
  const actual: unknown = (value as Error & { code?: unknown }).code;
  return typeof actual === 'string' && codes.has(actual) && (code === undefined || actual === code);
}
