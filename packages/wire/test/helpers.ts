import { WireError } from '@xpp/wire';

/** The `WireError` code `fn` throws, undefined if it returns, or a marker if it throws anything else. */
export function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    return WireError.is(error) ? error.code : `not a WireError: ${String(error)}`;
  }
  return undefined;
}
