/**
 * A minimal typed event emitter: no Node import, listener errors are not swallowed silently by design.
 *
 * Every channel, session and node holds one, nearly always with one listener per event, so an event's listeners
 * are kept as that listener alone and become a Set only from the second one: a Map of Sets cost ~0.8 KB per
 * emitter (issue #16's memory per peer), this ~0.1 KB. Order and once-per-listener semantics are the Set's.
 */
export class Emitter<Events extends { [K in keyof Events]: (...args: never[]) => void }> {
  #listeners: { [K in keyof Events]?: Events[K] | Set<Events[K]> } = {};

  on<K extends keyof Events>(event: K, listener: Events[K]): () => void {
    const current = this.#listeners[event];
    if (current === undefined) this.#listeners[event] = listener;
    else if (current instanceof Set) current.add(listener);
    else if (current !== listener)
      this.#listeners[event] = new Set<Events[K]>([current as Events[K], listener]);
    return () => this.off(event, listener);
  }

  off<K extends keyof Events>(event: K, listener: Events[K]): void {
    const current = this.#listeners[event];
    if (current === listener) this.#listeners[event] = undefined;
    else if (current instanceof Set) current.delete(listener);
  }

  emit<K extends keyof Events>(event: K, ...args: Parameters<Events[K]>): void {
    const current = this.#listeners[event];
    if (current === undefined) return;
    if (current instanceof Set) {
      for (const listener of current) (listener as (...a: Parameters<Events[K]>) => void)(...args);
    } else {
      (current as (...a: Parameters<Events[K]>) => void)(...args);
    }
  }

  listenerCount(event: keyof Events): number {
    const current = this.#listeners[event];
    return current === undefined ? 0 : current instanceof Set ? current.size : 1;
  }

  clear(): void {
    this.#listeners = {};
  }
}
