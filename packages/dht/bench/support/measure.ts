// Latency samples and memory figures shared by the overlay benchmarks.

/** The `q` quantile (0–1) of `samples` (nearest rank), in the samples' unit. */
export function quantile(samples: readonly number[], q: number): number {
  if (samples.length === 0) return Number.NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank] as number;
}

/** Runs `op` `count` times one after another; the wall time of each, ms. */
export async function latencies(count: number, op: (i: number) => Promise<unknown>): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < count; i++) {
    const start = performance.now();
    await op(i);
    out.push(performance.now() - start);
  }
  return out;
}

/** Process RSS in octets after full garbage collections (needs `--expose-gc`; without it, RSS as it is). */
export async function settledRss(): Promise<number> {
  const gc = (globalThis as { gc?: () => void }).gc;
  for (let i = 0; i < 3; i++) {
    gc?.();
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return process.memoryUsage().rss;
}

export const round = (value: number, digits = 2): number => Number(value.toFixed(digits));

export const MB = 2 ** 20;

/**
 * Holds the process open until the returned function is called: every timer of the system clock is unref'd, so a
 * run on the in-memory network (no sockets) would otherwise exit (code 13) whenever it only waits on timers.
 */
export function keepProcessAlive(): () => void {
  const handle = setInterval(() => undefined, 60_000);
  return () => clearInterval(handle);
}
