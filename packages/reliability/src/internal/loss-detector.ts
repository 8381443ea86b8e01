/** Something sent: its place in transmission order, set by {@link LossDetector.sent}. */
export interface Transmission {
  txOrder: number;
}

/**
 * Fast-retransmit loss detection in transmission order: a fragment still in flight is lost once `threshold`
 * fragments sent after it have been acknowledged ("three later ACKs", spec §5.2). Ordering by transmission
 * rather than by sequence number also catches a lost retransmission without waiting for the timer. Work is
 * O(1) amortised per transmission: the queue is only ever consumed from its oldest end.
 */
export class LossDetector<T extends Transmission> {
  readonly threshold: number;
  #entries: T[] = [];
  #orders: number[] = [];
  #head = 0;
  #next = 0;
  // The `threshold` highest transmission orders acknowledged so far, highest first.
  readonly #top: number[];

  constructor(threshold: number) {
    this.threshold = Math.max(1, threshold);
    this.#top = new Array<number>(this.threshold).fill(-1);
  }

  /** The order the next transmission will get. */
  get nextOrder(): number {
    return this.#next;
  }

  /** Transmissions tracked (bounded by what is sent within one retransmission timeout). */
  get size(): number {
    return this.#entries.length - this.#head;
  }

  sent(entry: T): void {
    entry.txOrder = this.#next++;
    this.#entries.push(entry);
    this.#orders.push(entry.txOrder);
  }

  acked(entry: T): void {
    const top = this.#top;
    let order = entry.txOrder;
    for (let i = 0; i < top.length; i++) {
      if (order > (top[i] as number)) {
        const moved = top[i] as number;
        top[i] = order;
        order = moved;
      }
    }
  }

  /**
   * Reports, oldest first, each transmission still in flight that `threshold` later ones overtook; a smaller
   * `threshold` (down to 1) applies early retransmit when too little is outstanding for three (RFC 5827).
   */
  detect(inFlight: (entry: T) => boolean, lost: (entry: T) => void, threshold = this.threshold): void {
    const bar = this.#top[Math.min(Math.max(threshold, 1), this.threshold) - 1] as number;
    if (bar < 0) return;
    const entries = this.#entries;
    const orders = this.#orders;
    while (this.#head < entries.length) {
      const entry = entries[this.#head] as T;
      const order = orders[this.#head] as number;
      const live = entry.txOrder === order && inFlight(entry);
      if (live && order >= bar) break;
      entries[this.#head] = undefined as unknown as T;
      this.#head++;
      if (live) lost(entry);
    }
    if (this.#head === entries.length) {
      // Drained: an idle session keeps no slots for what it sent before (issue #16's memory per peer).
      this.#entries = [];
      this.#orders = [];
      this.#head = 0;
    } else if (this.#head > 1024 && this.#head * 2 > entries.length) {
      this.#entries = entries.slice(this.#head);
      this.#orders = orders.slice(this.#head);
      this.#head = 0;
    }
  }

  /** Forgets every transmission (after a timeout everything outstanding is resent anyway). */
  clear(): void {
    this.#entries = [];
    this.#orders = [];
    this.#head = 0;
    this.#top.fill(-1);
  }
}
