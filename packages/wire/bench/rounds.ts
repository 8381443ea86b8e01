// Interleaved rounds for micro-benchmarks on a shared machine: every task runs once per round, in an order that
// rotates from round to round, so a change of load on the machine lands on all tasks alike, and a ratio is taken
// per round between tasks that ran back to back. Each task is timed in process CPU time (all of the process's
// threads, so work a codec leaves to V8's background GC threads is counted) as well as wall time: CPU time does
// not grow when another process takes the core, wall time does. See docs/decisions/wire-bench-method.md.

export interface Task {
  readonly name: string;
  readonly run: () => void;
}

export interface RoundsOptions {
  /** Measured rounds (the median is over these). */
  readonly rounds: number;
  /** CPU time each task should take per round; the iteration count is fixed from it after warm-up. */
  readonly roundMs: number;
  /** CPU time each task runs, interleaved, before anything is measured, so that all are optimised. */
  readonly warmupMs: number;
}

/** One task's figures: per round, ops per CPU second and per wall second. */
export interface TaskRounds {
  readonly name: string;
  readonly iterations: number;
  readonly cpuOpsPerSec: readonly number[];
  readonly wallOpsPerSec: readonly number[];
}

/** Median with its spread over rounds. */
export interface Spread {
  readonly median: number;
  readonly q1: number;
  readonly q3: number;
  readonly min: number;
  readonly max: number;
}

const gc: (() => void) | undefined = (globalThis as { gc?: () => void }).gc;

function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

/** Runs `run` `n` times; returns [cpu ms, wall ms]. The young generation is emptied first (see decision). */
function timed(run: () => void, n: number): [number, number] {
  gc?.();
  const cpu0 = cpuMs();
  const wall0 = performance.now();
  for (let i = 0; i < n; i++) run();
  return [cpuMs() - cpu0, performance.now() - wall0];
}

/** Iterations of `run` that take about `ms` of CPU time, found by doubling. */
function calibrate(run: () => void, ms: number): number {
  let n = 64;
  for (;;) {
    const [cpu] = timed(run, n);
    // process.cpuUsage has microsecond resolution, so 20 ms is long enough to scale from
    if (cpu >= 20) return Math.max(1, Math.round((n * ms) / cpu));
    n *= 2;
  }
}

export function runRounds(tasks: readonly Task[], options: RoundsOptions): TaskRounds[] {
  if (gc === undefined)
    throw new Error('run with node --expose-gc: rounds start from an emptied young generation');
  // warm-up interleaved too, so that no task is optimised while another still runs in the interpreter
  const warmEach = options.warmupMs / 4;
  for (let w = 0; w < 4; w++) for (const task of tasks) calibrate(task.run, warmEach);
  const counts = tasks.map((task) => calibrate(task.run, options.roundMs));
  const cpu = tasks.map((): number[] => []);
  const wall = tasks.map((): number[] => []);
  for (let r = 0; r < options.rounds; r++) {
    for (let k = 0; k < tasks.length; k++) {
      const i = (r + k) % tasks.length;
      const n = counts[i] as number;
      const [c, w] = timed((tasks[i] as Task).run, n);
      (cpu[i] as number[]).push((n * 1000) / c);
      (wall[i] as number[]).push((n * 1000) / w);
    }
  }
  return tasks.map((task, i) => ({
    name: task.name,
    iterations: counts[i] as number,
    cpuOpsPerSec: cpu[i] as number[],
    wallOpsPerSec: wall[i] as number[],
  }));
}

/** Per-round ratio a ÷ b (higher is a faster), of two tasks' figures from the same rounds. */
export function ratios(a: readonly number[], b: readonly number[]): number[] {
  return a.map((x, r) => x / (b[r] as number));
}

function quantile(sorted: readonly number[], q: number): number {
  const at = (sorted.length - 1) * q;
  const lo = Math.floor(at);
  const hi = Math.ceil(at);
  return (sorted[lo] as number) + ((sorted[hi] as number) - (sorted[lo] as number)) * (at - lo);
}

export function spread(xs: readonly number[], digits: number): Spread {
  const s = [...xs].sort((a, b) => a - b);
  const round = (x: number): number => Number(x.toFixed(digits));
  return {
    median: round(quantile(s, 0.5)),
    q1: round(quantile(s, 0.25)),
    q3: round(quantile(s, 0.75)),
    min: round(s[0] as number),
    max: round(s[s.length - 1] as number),
  };
}
