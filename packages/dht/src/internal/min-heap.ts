/** A binary min-heap ordered by a numeric priority: O(log n) push and pop. */
export class MinHeap<T> {
  readonly #items: T[] = [];
  readonly #priority: (item: T) => number;

  constructor(priority: (item: T) => number) {
    this.#priority = priority;
  }

  get size(): number {
    return this.#items.length;
  }

  peek(): T | undefined {
    return this.#items[0];
  }

  push(item: T): void {
    const items = this.#items;
    items.push(item);
    let i = items.length - 1;
    const p = this.#priority(item);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const above = items[parent] as T;
      if (this.#priority(above) <= p) break;
      items[i] = above;
      i = parent;
    }
    items[i] = item;
  }

  pop(): T | undefined {
    const items = this.#items;
    const top = items[0];
    const last = items.pop();
    if (items.length > 0 && last !== undefined) this.#sinkFromRoot(last);
    return top;
  }

  /** Keeps only the items `keep` accepts (O(n)); used to drop stale entries in bulk. */
  retain(keep: (item: T) => boolean): void {
    const kept = this.#items.filter(keep);
    this.#items.length = 0;
    for (const item of kept) this.push(item);
  }

  #sinkFromRoot(item: T): void {
    const items = this.#items;
    const n = items.length;
    const p = this.#priority(item);
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= n) break;
      const right = left + 1;
      const child =
        right < n && this.#priority(items[right] as T) < this.#priority(items[left] as T) ? right : left;
      if (this.#priority(items[child] as T) >= p) break;
      items[i] = items[child] as T;
      i = child;
    }
    items[i] = item;
  }
}
