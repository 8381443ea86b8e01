// The sipp side of the REGISTER benches: the bench users, one sipp run of register-load.xml at an offered rate
// against any registrar (ours or Kamailio), and the figures read from sipp's traces.
import { spawn } from 'node:child_process';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freeUdpPort } from '@xpp/test-kit';

const SCENARIO = fileURLToPath(new URL('./register-load.xml', import.meta.url));

/** The domain (and digest realm) of every bench user: the scenario's From/To host. */
export const BENCH_DOMAIN = 'localhost';

export interface BenchUser {
  readonly user: string;
  readonly password: string;
}

/** `count` users, `load<i>` with password `pw-load<i>`: the same set for every registrar under test. */
export function benchUsers(count: number): BenchUser[] {
  return Array.from({ length: count }, (_, i) => ({ user: `load${i}`, password: `pw-load${i}` }));
}

/** Writes sipp's injection file for `users` (field0 the user, field1 its `[authentication …]` keyword). */
export function writeUsersCsv(file: string, users: readonly BenchUser[]): string {
  const lines = users.map((u) => `${u.user};[authentication username=${u.user} password=${u.password}]`);
  writeFileSync(file, `SEQUENTIAL\n${lines.join('\n')}\n`);
  return file;
}

export interface RunResult {
  readonly offered: number;
  readonly attempted: number;
  readonly succeeded: number;
  readonly failed: number;
  /** Successful registrations per second of wall-clock time, from sipp's start to its exit. */
  readonly perSec: number;
  /** CPU time the target spent per successful registration, µs (all its threads, or all its processes). */
  readonly cpuUsPerRegister: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly failureRate: number;
}

/** A registrar under load: its SIP port on 127.0.0.1 and the CPU seconds it has used so far. */
export interface SippTarget {
  readonly sip: number;
  cpuSeconds(): number;
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] as number;
}

/** CPU seconds (user + system) a process has used, from /proc (Linux; clock ticks of 10 ms). */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** A target whose CPU is one process's (an `xpp-node`: all its threads are in its own /proc stat). */
export function processTarget(sip: number, pid: number): SippTarget {
  return { sip, cpuSeconds: () => cpuSeconds(pid) };
}

/** One sipp run of the scenario at `rate` REGISTER/s for `seconds`, in `dir` (where sipp leaves its traces). */
export async function sipp(
  dir: string,
  users: string,
  target: SippTarget,
  rate: number,
  seconds: number,
): Promise<RunResult> {
  const calls = rate * seconds;
  const args = [
    '-sf',
    SCENARIO,
    '-inf',
    users,
    '-i',
    '127.0.0.1',
    '-p',
    String(await freeUdpPort()),
    '-nd',
    '-r',
    String(rate),
    '-rp',
    '1000',
    '-m',
    String(calls),
    '-l',
    String(Math.max(200, rate)),
    '-nostdin',
    '-timeout',
    `${seconds * 4 + 20}s`,
    '-trace_rtt',
    '-rtt_freq',
    '1',
    '-trace_stat',
    '-fd',
    '1',
    '-max_socket',
    '1024',
    `127.0.0.1:${target.sip}`,
  ];
  const started = performance.now();
  const cpuBefore = target.cpuSeconds();
  return new Promise((resolve, reject) => {
    const child = spawn('sipp', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    child.on('error', reject);
    child.on('close', () => {
      const files = readdirSync(dir);
      const rttFile = files.find((f) => f.endsWith('_rtt.csv'));
      const statFile = files.find((f) => f.endsWith('_.csv'));
      if (rttFile === undefined || statFile === undefined)
        return reject(new Error(`sipp left no traces: ${err}`));
      const rtts = readFileSync(join(dir, rttFile), 'utf8')
        .split('\n')
        .slice(1)
        .map((l) => Number(l.split(';')[1]))
        .filter((v) => Number.isFinite(v))
        .sort((a, b) => a - b);
      const stat = readFileSync(join(dir, statFile), 'utf8').trim().split('\n');
      const head = (stat[0] ?? '').split(';');
      const last = (stat[stat.length - 1] ?? '').split(';');
      const col = (name: string) => Number(last[head.indexOf(name)]);
      const elapsedS = (performance.now() - started) / 1000;
      const cpu = target.cpuSeconds() - cpuBefore;
      const succeeded = col('SuccessfulCall(C)');
      const failed = col('FailedCall(C)');
      resolve({
        offered: rate,
        attempted: succeeded + failed,
        succeeded,
        failed,
        perSec: Math.round(succeeded / Math.max(elapsedS, 1e-3)),
        cpuUsPerRegister: Math.round((cpu * 1e6) / Math.max(1, succeeded)),
        p50Ms: percentile(rtts, 50),
        p99Ms: percentile(rtts, 99),
        failureRate: calls > 0 ? (calls - succeeded) / calls : 1,
      });
    });
  });
}

/** One line per run, as the bench prints them. */
export function describe(label: string, r: RunResult, cpuLabel = 'peer CPU'): string {
  return (
    `${label}: offered ${r.offered}/s → ${r.perSec}/s ok, failures ${(r.failureRate * 100).toFixed(2)}%, ` +
    `p50 ${r.p50Ms.toFixed(1)} ms, p99 ${r.p99Ms.toFixed(1)} ms, ${cpuLabel} ${r.cpuUsPerRegister} µs/REGISTER`
  );
}

/**
 * The run at the highest offered rate the target kept up with: ≥ 95 % of the offered rate completed per second of
 * wall-clock time, with < 1 % failures. When it kept up with none, the run that completed the most per second
 * (its latency then is queueing: the figure is a capacity, not a sustained rate), flagged `sustained: false`.
 */
export function sustained(results: readonly RunResult[]): RunResult & { sustained: boolean } {
  const kept = results.filter((r) => r.failureRate < 0.01 && r.perSec >= 0.95 * r.offered);
  if (kept.length > 0)
    return { ...kept.reduce((best, r) => (r.offered > best.offered ? r : best)), sustained: true };
  return { ...results.reduce((best, r) => (r.perSec > best.perSec ? r : best)), sustained: false };
}
