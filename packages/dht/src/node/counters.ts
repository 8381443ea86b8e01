import { MAX_HOP_LIMIT } from '../limits.js';

/** Counts of one node: operations handled and started by type and result, refusals by reason, hops. */
export class NodeCounters {
  readonly handled: Record<string, number> = {};
  readonly started: Record<string, number> = {};
  readonly refused: Record<string, number> = {};
  /** `hops[h]`: requests this node started whose owner was `h` hops away (0: this node). At most 256 buckets. */
  readonly hops: number[] = [];

  count(table: Record<string, number>, operation: string, result: string): void {
    const key = `${operation} ${result}`;
    table[key] = (table[key] ?? 0) + 1;
  }

  refuse(reason: string): void {
    this.refused[reason] = (this.refused[reason] ?? 0) + 1;
  }

  hop(hops: number): void {
    const h = Math.max(0, Math.min(MAX_HOP_LIMIT, Math.trunc(hops)));
    while (this.hops.length <= h) this.hops.push(0);
    this.hops[h] = (this.hops[h] as number) + 1;
  }
}

/** The mean of a hop histogram (0 when empty). */
export function meanHops(histogram: readonly number[]): number {
  let count = 0;
  let sum = 0;
  histogram.forEach((n, h) => {
    count += n;
    sum += n * h;
  });
  return count === 0 ? 0 : sum / count;
}
