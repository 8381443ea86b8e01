import { TestnetError } from './errors.js';

export interface WaitOptions {
  /** Give up after this long, ms. Default 30 000. */
  readonly timeoutMs?: number;
  /** Time between two checks, ms. Default 20. */
  readonly intervalMs?: number;
  readonly signal?: AbortSignal;
  /** Says what was awaited, in the timeout error. */
  readonly what?: string;
}

/**
 * Polls `condition` until it holds, with a deadline: tests on a loaded machine wait for a state, never for a fixed
 * time. Rejects with `TestnetError` `TIMEOUT` at the deadline and with the signal's reason on abort.
 */
export async function waitFor(condition: () => boolean, options: WaitOptions = {}): Promise<void> {
  const deadline = Date.now() + (options.timeoutMs ?? 30_000);
  const interval = options.intervalMs ?? 20;
  for (;;) {
    options.signal?.throwIfAborted();
    if (condition()) return;
    if (Date.now() >= deadline)
      throw new TestnetError('TIMEOUT', `timed out waiting for ${options.what ?? 'a condition'}`);
    await new Promise((resolve) => setTimeout(resolve, interval));
  }
}
