import type { Random } from './random.js';

/** A set with O(1) add, delete and uniform random pick: an array plus each member's slot in it. */
export class IndexedSet<T> {
  readonly #items: T[] = [];
  readonly #slots = new Map<T, number>();

  get size(): number {
    return this.#items.length;
  }

  add(item: T): void {
    if (this.#slots.has(item)) return;
    this.#slots.set(item, this.#items.length);
    this.#items.push(item);
  }

  delete(item: T): boolean {
    const slot = this.#slots.get(item);
    if (slot === undefined) return false;
    const last = this.#items.pop() as T;
    if (last !== item) {
      this.#items[slot] = last;
      this.#slots.set(last, slot);
    }
    this.#slots.delete(item);
    return true;
  }

  pick(random: Random): T | undefined {
    return this.#items[random.below(this.#items.length)];
  }

  values(): readonly T[] {
    return this.#items;
  }
}
