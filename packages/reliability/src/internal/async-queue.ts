import { ReliabilityError, abortError } from '../errors.js';

/**
 * The buffer behind an async iterator of received items: bounded (`push` returns false when full, and the
 * caller counts the drop), ended by `end(error?)`, abortable by a signal.
 */
export class AsyncQueue<T> {
  readonly #items: T[] = [];
  #head = 0;
  #waiting: { resolve: (r: IteratorResult<T>) => void; reject: (e: unknown) => void } | undefined;
  #ended = false;
  #error: unknown;

  constructor(readonly capacity: number) {}

  get length(): number {
    return this.#items.length - this.#head;
  }

  push(item: T): boolean {
    if (this.#ended) return false;
    const waiting = this.#waiting;
    if (waiting !== undefined) {
      this.#waiting = undefined;
      waiting.resolve({ value: item, done: false });
      return true;
    }
    if (this.length >= this.capacity) return false;
    this.#items.push(item);
    return true;
  }

  end(error?: unknown): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#error = error;
    const waiting = this.#waiting;
    this.#waiting = undefined;
    if (waiting === undefined) return;
    if (error === undefined) waiting.resolve({ value: undefined, done: true });
    else waiting.reject(error);
  }

  next(): Promise<IteratorResult<T>> {
    if (this.#head < this.#items.length) {
      const value = this.#items[this.#head] as T;
      this.#items[this.#head++] = undefined as T;
      if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
        this.#items.splice(0, this.#head);
        this.#head = 0;
      }
      return Promise.resolve({ value, done: false });
    }
    if (this.#ended) {
      return this.#error === undefined
        ? Promise.resolve({ value: undefined, done: true })
        : Promise.reject(this.#error);
    }
    if (this.#waiting !== undefined) {
      return Promise.reject(
        new ReliabilityError('INVALID_OPTION', 'next() called again before the previous call settled'),
      );
    }
    return new Promise((resolve, reject) => {
      this.#waiting = { resolve, reject };
    });
  }

  /** An iterator over this queue that ends (`ABORTED`) when `signal` fires and calls `onDone` once. */
  iterator(signal: AbortSignal | undefined, onDone: () => void): AsyncIterableIterator<T> {
    const onAbort = (): void => this.end(abortError(signal as AbortSignal, 'message iteration'));
    signal?.addEventListener('abort', onAbort, { once: true });
    if (signal?.aborted === true) onAbort();
    const finish = (): void => {
      signal?.removeEventListener('abort', onAbort);
      this.end();
      onDone();
    };
    const iterator: AsyncIterableIterator<T> = {
      next: async () => {
        try {
          const result = await this.next();
          if (result.done === true) finish();
          return result;
        } catch (error) {
          finish();
          throw error;
        }
      },
      return: () => {
        finish();
        return Promise.resolve({ value: undefined, done: true });
      },
      [Symbol.asyncIterator]: () => iterator,
    };
    return iterator;
  }
}
