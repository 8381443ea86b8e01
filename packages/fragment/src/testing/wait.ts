import { isCodedError, XppError } from '@xpp/wire';

/** Stable codes of {@link WaitError}. */
export type WaitErrorCode =
  /** The awaited condition did not hold before the deadline. */
  'TIMEOUT';

const WAIT_ERROR_CODES: ReadonlySet<string> = new Set<WaitErrorCode>(['TIMEOUT']);

/** What {@link waitFor} throws when its deadline passes. */
export class WaitError extends XppError<WaitErrorCode> {
  override readonly name = 'WaitError';

  /** True for a `WaitError` from any copy of this package. */
  static is(value: unknown, code?: WaitErrorCode): value is WaitError {
    return isCodedError(value, 'WaitError', WAIT_ERROR_CODES, code);
  }
}

export interface WaitOptions {
  /** Give up after this long, ms. Default 30 000. */
  readonly timeoutMs?: number;
  /** Time between two checks, ms. Default 20. */
  readonly intervalMs?: number;
  /** Stops the wait, rejecting with the signal's reason. */
  readonly signal?: AbortSignal;
  /** Says what was awaited, in the timeout error; a function is asked only then (to report the state reached). */
  readonly what?: string | (() => string);
}

/** What a condition returns while it does not hold. */
type NotYet = false | undefined | null;

/**
 * Polls `condition` on real time until it returns something other than `false`, `undefined` or `null`, and
 * resolves with that: tests over real sockets and processes on a loaded machine wait for a state, never for a
 * fixed time. Rejects with {@link WaitError} `TIMEOUT` naming what was awaited at the deadline, with the
 * signal's reason on abort, and with the condition's own error if it throws.
 */
export async function waitFor<T>(
  condition: () => T | Promise<T>,
  options: WaitOptions = {},
): Promise<Exclude<T, NotYet>> {
  const timeoutMs = options.timeoutMs ?? 30_000;
  const interval = options.intervalMs ?? 20;
  const signal = options.signal;
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    signal?.throwIfAborted();
    const value = await condition();
    if (value !== false && value !== undefined && value !== null) return value as Exclude<T, NotYet>;
    if (performance.now() >= deadline) {
      const what = typeof options.what === 'function' ? options.what() : (options.what ?? 'a condition');
      throw new WaitError('TIMEOUT', `timed out after ${timeoutMs} ms waiting for ${what}`);
    }
    await pause(interval, signal);
  }
}

/** Sleeps `ms`, waking early when `signal` fires (the loop then throws its reason). */
function pause(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}
