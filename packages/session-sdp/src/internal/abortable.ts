import { abortError } from '../errors.js';

/**
 * A promise settled by `start`'s resolve/reject, or rejected with `ABORTED` when `signal` fires. `onAbort` runs
 * once on abort to release what `start` set up. The abort listener is always removed.
 */
export function abortable<T>(
  signal: AbortSignal | undefined,
  start: (resolve: (value: T) => void, reject: (error: unknown) => void) => void,
  onAbort: () => void = () => undefined,
): Promise<T> {
  if (signal?.aborted === true) return Promise.reject(abortError(signal));
  return new Promise<T>((resolve, reject) => {
    let settled = false;
    const listener = () => {
      if (settled) return;
      settled = true;
      onAbort();
      reject(abortError(signal as AbortSignal));
    };
    const finish = () => {
      settled = true;
      signal?.removeEventListener('abort', listener);
    };
    signal?.addEventListener('abort', listener, { once: true });
    start(
      (value) => {
        if (settled) return;
        finish();
        resolve(value);
      },
      (error) => {
        if (settled) return;
        finish();
        reject(error);
      },
    );
  });
}
