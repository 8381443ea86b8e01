import { WaitError, waitFor as poll, type WaitOptions } from '@xpp/reliability/testing';
import { TestnetError } from './errors.js';

export type { WaitOptions };

/**
 * The one `waitFor` of `@xpp/fragment/testing` (re-exported by `@xpp/reliability/testing`), throwing this
 * package's error: `TestnetError` `TIMEOUT` at the deadline, naming what was awaited; the signal's reason on
 * abort. Tests on a loaded machine wait for a state, never for a fixed time.
 */
export async function waitFor<T>(
  condition: () => T | Promise<T>,
  options: WaitOptions = {},
): Promise<Exclude<T, false | undefined | null>> {
  try {
    return await poll(condition, options);
  } catch (error) {
    if (WaitError.is(error, 'TIMEOUT')) throw new TestnetError('TIMEOUT', error.message, { cause: error });
    throw error;
  }
}
