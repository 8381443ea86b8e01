import { SessionError, abortError } from '../errors.js';

/** A socket or server while it binds: the one `error` it may emit, and how to give it up. */
interface Binding {
  once(event: 'error', listener: (cause: Error) => void): unknown;
  close(): unknown;
}

/**
 * Waits for `start` to bind `target` (a `node:dgram` socket, a `node:net` server). Rejects with `TRANSPORT`
 * (`failure` as message, the error as cause) when binding fails, and with `ABORTED` (closing `target`) on `signal`.
 */
export function bindOrAbort(
  target: Binding,
  start: (bound: () => void) => void,
  failure: string,
  signal: AbortSignal | undefined,
): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const onAbort = () => {
      target.close();
      reject(abortError(signal as AbortSignal));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    target.once('error', (cause) => {
      signal?.removeEventListener('abort', onAbort);
      reject(new SessionError('TRANSPORT', failure, { cause }));
    });
    start(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    });
  });
}
