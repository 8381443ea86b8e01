// `pnpm --filter @xpp/node-peer bench`: sipp REGISTER load with digest against one peer of a 5-peer overlay of
// real `xpp-node` processes on loopback, at rising offered rates; the baseline is the same load against a
// one-peer overlay (every record local, no overlay hops) measured in the same run. Last line: one JSON object.
// BENCH_CASE=flood: the same REGISTER load at one rate (BENCH_FLOOD_RATE, default 250/s) against a one-peer overlay,
// without and then with one source flooding OPTIONS at BENCH_FLOOD_PPS (default 5 000/s), in one run.
// BENCH_CASE=store: the disk store (records.db, the default) against `--memory`, two 5-peer overlays side by side,
// BENCH_ROUNDS rounds at BENCH_STORE_RATE offered, the two interleaved (order alternating); medians and spread.
// BENCH_PROFILE=<dir>: a V8 CPU profile of the peer under load (bench/profile-summary.ts reads it).
import { spawn, spawnSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { invitePeer } from '../src/cli/peer-commands.js';
import { addUser } from '../src/cli/user-add.js';
import { freeUdpPort } from '@xpp/test-kit';
import { waitFor } from '@xpp/reliability/testing';
import { NodeProcess } from '../test/support/node-process.js';

const SCENARIO = fileURLToPath(new URL('./register-load.xml', import.meta.url));
const USERS = Number(process.env['BENCH_USERS'] ?? 2000);
const SECONDS = Number(process.env['BENCH_SECONDS'] ?? 5);
const RATES = (process.env['BENCH_RATES'] ?? '250,500,1000,2000').split(',').map(Number);
const PEERS = 5;
const FLOOD_RATE = Number(process.env['BENCH_FLOOD_RATE'] ?? 250);
const FLOOD_PPS = Number(process.env['BENCH_FLOOD_PPS'] ?? 5000);

interface RunResult {
  readonly offered: number;
  readonly attempted: number;
  readonly succeeded: number;
  readonly failed: number;
  /** Successful registrations per second of wall-clock time, from sipp's start to its exit. */
  readonly perSec: number;
  /** CPU time the target peer's process spent per successful registration, µs (all its threads). */
  readonly cpuUsPerRegister: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly failureRate: number;
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] as number;
}

/** An overlay of `count` xpp-node processes (first peer + candidates invited through the live policy). */
async function overlay(
  base: string,
  count: number,
  target: number,
  options: { readonly flags?: readonly string[]; readonly profile?: string } = {},
): Promise<{ procs: NodeProcess[]; http: number[]; sip: number[] }> {
  const config = join(base, 'node.json');
  // sipp 3.6 reads only the first challenge and knows only MD5.
  writeFileSync(
    config,
    JSON.stringify({
      invitePolicy: { maxClients: 0, minStableFlowMs: 0, intervalMs: 200 },
      digestAlgorithms: ['MD5', 'SHA-256'],
      dimensions: 2,
    }),
  );
  const common = [
    '--config',
    config,
    '--sip-port',
    '0',
    '--xpp-port',
    '0',
    '--http-port',
    '0',
    '--log-level',
    'info',
    ...(options.flags ?? []),
  ];
  const procs: NodeProcess[] = [];
  // BENCH_PROFILE=<dir>: a V8 CPU profile of the peer under load, written when it stops.
  const profile = options.profile ?? process.env['BENCH_PROFILE'];
  const nodeArgs = (i: number) =>
    profile !== undefined && i === target ? ['--cpu-prof', `--cpu-prof-dir=${profile}`] : [];
  const first = new NodeProcess(['start', '--data-dir', join(base, 'peer-0'), ...common], {}, nodeArgs(0));
  procs.push(first);
  const ports = [await first.ports()];
  const adminKey = readFileSync(join(base, 'peer-0', 'admin.pub'), 'utf8').trim();
  const admin = { domain: 'localhost', dataDir: join(base, 'peer-0'), httpPort: ports[0]!.http };
  for (let i = 1; i < count; i++) {
    // Each joiner certified by a one-use invitation token from the administrator's node (peer invite).
    const { text: token } = await invitePeer(admin, { days: 1 });
    const via = ports[Math.floor((i - 1) / 2)]!;
    const p = new NodeProcess(
      [
        'join',
        '--via',
        `127.0.0.1:${via.sip}`,
        '--token',
        token,
        '--admin-public-key',
        adminKey,
        '--data-dir',
        join(base, `peer-${i}`),
        ...common,
      ],
      {},
      nodeArgs(i),
    );
    procs.push(p);
    const mine = await p.ports();
    ports.push(mine);
    await waitFor(
      async () => ((await fetch(`http://127.0.0.1:${mine.http}/healthz`)).status === 200 ? true : undefined),
      { what: `peer ${i} invited`, timeoutMs: 60_000, intervalMs: 50 },
    );
  }
  return { procs, http: ports.map((p) => p.http), sip: ports.map((p) => p.sip) };
}

async function addUsers(base: string, httpPort: number): Promise<string> {
  const admin = { domain: 'localhost', dataDir: join(base, 'peer-0'), httpPort };
  const lines = ['SEQUENTIAL'];
  for (let i = 0; i < USERS; i += 50) {
    await Promise.all(
      Array.from({ length: Math.min(50, USERS - i) }, (_, k) => {
        const user = `load${i + k}`;
        lines.push(`${user};[authentication username=${user} password=pw-${user}]`);
        return addUser(admin, { aor: `sip:${user}@localhost`, password: `pw-${user}` });
      }),
    );
  }
  const file = join(base, 'users.csv');
  writeFileSync(file, `${lines.join('\n')}\n`);
  return file;
}

/** CPU seconds (user + system) a process has used, from /proc (Linux; clock ticks of 10 ms). */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

async function sipp(
  dir: string,
  users: string,
  target: { sip: number; pid: number },
  rate: number,
): Promise<RunResult> {
  const calls = rate * SECONDS;
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
    `${SECONDS * 4 + 20}s`,
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
  const cpuBefore = cpuSeconds(target.pid);
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
      const cpu = cpuSeconds(target.pid) - cpuBefore;
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

async function measure(label: string, count: number, target: number): Promise<RunResult[]> {
  const base = mkdtempSync(join(tmpdir(), `xpp-bench-${label}-`));
  const net = await overlay(base, count, target);
  try {
    const users = await addUsers(base, net.http[0]!);
    const results: RunResult[] = [];
    for (const rate of RATES) {
      const dir = mkdtempSync(join(base, `sipp-${rate}-`));
      const r = await sipp(dir, users, { sip: net.sip[target]!, pid: net.procs[target]!.child.pid! }, rate);
      console.log(
        `${label}: offered ${rate}/s → ${r.perSec}/s ok, failures ${(r.failureRate * 100).toFixed(2)}%, ` +
          `p50 ${r.p50Ms.toFixed(1)} ms, p99 ${r.p99Ms.toFixed(1)} ms, peer CPU ${r.cpuUsPerRegister} µs/REGISTER`,
      );
      results.push(r);
    }
    return results;
  } finally {
    for (const p of net.procs) p.child.kill('SIGTERM');
    await Promise.all(net.procs.map((p) => p.exited));
  }
}

/**
 * The run at the highest offered rate the peer kept up with: ≥ 95 % of the offered rate completed per second of
 * wall-clock time, with < 1 % failures. When it kept up with none, the run that completed the most per second
 * (its latency then is queueing: the figure is a capacity, not a sustained rate), flagged `sustained: false`.
 */
function sustained(results: readonly RunResult[]): RunResult & { sustained: boolean } {
  const kept = results.filter((r) => r.failureRate < 0.01 && r.perSec >= 0.95 * r.offered);
  if (kept.length > 0)
    return { ...kept.reduce((best, r) => (r.offered > best.offered ? r : best)), sustained: true };
  return { ...results.reduce((best, r) => (r.perSec > best.perSec ? r : best)), sustained: false };
}

/**
 * One UDP source sending OPTIONS for unknown users of the domain (each proxied, and held for Timer J when admitted)
 * at `pps`, in bursts every 10 ms, until stopped. Returns a function that stops it and says how many it sent.
 */
async function flood(sipPort: number, pps: number): Promise<() => Promise<number>> {
  const socket = createSocket('udp4');
  socket.on('message', () => undefined);
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  const port = socket.address().port;
  let sent = 0;
  const burst = Math.max(1, Math.round(pps / 100));
  const timer = setInterval(() => {
    for (let i = 0; i < burst; i++) {
      const n = sent++;
      const text =
        `OPTIONS sip:nobody${n}@localhost SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:${port};branch=z9hG4bK-f${n};rport\r\n` +
        `From: <sip:flood@localhost>;tag=f${n}\r\nTo: <sip:nobody${n}@localhost>\r\nCall-ID: flood-${n}\r\n` +
        `CSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n`;
      socket.send(text, sipPort, '127.0.0.1');
    }
  }, 10);
  return async () => {
    clearInterval(timer);
    await new Promise<void>((resolve) => socket.close(() => resolve()));
    return sent;
  };
}

/** BENCH_CASE=flood: REGISTER load alone, then with the flood, against one peer; prints one JSON line. */
async function measureFlood(): Promise<void> {
  const base = mkdtempSync(join(tmpdir(), 'xpp-bench-flood-'));
  const net = await overlay(base, 1, 0);
  try {
    const users = await addUsers(base, net.http[0]!);
    const target = { sip: net.sip[0]!, pid: net.procs[0]!.child.pid! };
    const quiet = await sipp(mkdtempSync(join(base, 'sipp-quiet-')), users, target, FLOOD_RATE);
    const stop = await flood(target.sip, FLOOD_PPS);
    const loaded = await sipp(mkdtempSync(join(base, 'sipp-flood-')), users, target, FLOOD_RATE);
    const flooded = await stop();
    const metrics = await (await fetch(`http://127.0.0.1:${net.http[0]!}/metrics`)).text();
    const refused = [...metrics.matchAll(/sip_rejected_total\{reason="(overload-[a-z]+)"\} (\d+)/g)].map(
      ([, reason, n]) => `${reason} ${n}`,
    );
    for (const [label, r] of [['no flood', quiet] as const, ['flood', loaded] as const])
      console.log(
        `${label}: offered ${r.offered}/s → ${r.perSec}/s ok, failures ${(r.failureRate * 100).toFixed(2)}%, ` +
          `p50 ${r.p50Ms.toFixed(1)} ms, p99 ${r.p99Ms.toFixed(1)} ms`,
      );
    console.log(`flood: ${flooded} OPTIONS sent; refused: ${refused.join(', ') || 'none'}`);
    console.log(
      JSON.stringify({
        case: 'flood',
        floodPps: FLOOD_PPS,
        registerPerSec: loaded.perSec,
        p99Ms: Number(loaded.p99Ms.toFixed(2)),
        failureRate: Number(loaded.failureRate.toFixed(4)),
        quietRegisterPerSec: quiet.perSec,
        quietP99Ms: Number(quiet.p99Ms.toFixed(2)),
        ratioToQuiet: Number((loaded.perSec / Math.max(1, quiet.perSec)).toFixed(2)),
      }),
    );
  } finally {
    for (const p of net.procs) p.child.kill('SIGTERM');
    await Promise.all(net.procs.map((p) => p.exited));
  }
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/** Median and range of one figure over the rounds. */
function spread(values: readonly number[]): { median: number; min: number; max: number } {
  return { median: median(values), min: Math.min(...values), max: Math.max(...values) };
}

/**
 * BENCH_CASE=store: two 5-peer overlays at once, one on the disk store, one `--memory`, the same users in both;
 * BENCH_ROUNDS rounds of sipp at BENCH_STORE_RATE against the target peer of each, interleaved (the order alternates
 * per round) so that the machine's load falls on both alike. The ratio is per round, disk ÷ memory, then its median.
 */
async function measureStore(): Promise<void> {
  const rate = Number(process.env['BENCH_STORE_RATE'] ?? 1500);
  const rounds = Number(process.env['BENCH_ROUNDS'] ?? 5);
  const profile = process.env['BENCH_PROFILE'];
  const target = 2;
  const stores = ['disk', 'memory'] as const;
  const nets = new Map<string, { net: Awaited<ReturnType<typeof overlay>>; base: string; users: string }>();
  try {
    for (const store of stores) {
      const base = mkdtempSync(join(tmpdir(), `xpp-bench-${store}-`));
      const net = await overlay(base, PEERS, target, {
        flags: store === 'memory' ? ['--memory'] : [],
        ...(profile === undefined ? {} : { profile: join(profile, store) }),
      });
      nets.set(store, { net, base, users: '' });
      nets.set(store, { net, base, users: await addUsers(base, net.http[0]!) });
    }
    const results = new Map<string, RunResult[]>(stores.map((s) => [s, []]));
    for (let round = 0; round < rounds; round++) {
      for (const store of round % 2 === 0 ? stores : [...stores].reverse()) {
        const { net, base, users } = nets.get(store)!;
        const dir = mkdtempSync(join(base, `sipp-${round}-`));
        const r = await sipp(dir, users, { sip: net.sip[target]!, pid: net.procs[target]!.child.pid! }, rate);
        console.log(
          `round ${round + 1} ${store}: offered ${rate}/s → ${r.perSec}/s ok, failures ` +
            `${(r.failureRate * 100).toFixed(2)}%, p50 ${r.p50Ms.toFixed(1)} ms, p99 ${r.p99Ms.toFixed(1)} ms, ` +
            `peer CPU ${r.cpuUsPerRegister} µs/REGISTER, load ${loadavg()[0]!.toFixed(1)}`,
        );
        results.get(store)!.push(r);
      }
    }
    const disk = results.get('disk')!;
    const memory = results.get('memory')!;
    const ratios = disk.map((d, i) => d.perSec / Math.max(1, memory[i]!.perSec));
    const cpuRatios = disk.map((d, i) => d.cpuUsPerRegister / Math.max(1, memory[i]!.cpuUsPerRegister));
    const round2 = (v: number) => Number(v.toFixed(2));
    const figure = (s: { median: number; min: number; max: number }) => ({
      median: round2(s.median),
      min: round2(s.min),
      max: round2(s.max),
    });
    console.log(
      JSON.stringify({
        case: 'store',
        offeredPerSec: rate,
        rounds,
        registerPerSec: figure(spread(disk.map((r) => r.perSec))),
        memoryRegisterPerSec: figure(spread(memory.map((r) => r.perSec))),
        p99Ms: figure(spread(disk.map((r) => r.p99Ms))),
        memoryP99Ms: figure(spread(memory.map((r) => r.p99Ms))),
        failureRate: round2(Math.max(...disk.map((r) => r.failureRate))),
        cpuUsPerRegister: figure(spread(disk.map((r) => r.cpuUsPerRegister))),
        memoryCpuUsPerRegister: figure(spread(memory.map((r) => r.cpuUsPerRegister))),
        ratioMemory: figure(spread(ratios)),
        cpuRatioMemory: figure(spread(cpuRatios)),
      }),
    );
  } finally {
    const procs = [...nets.values()].flatMap((n) => n.net.procs);
    for (const p of procs) p.child.kill('SIGTERM');
    await Promise.all(procs.map((p) => p.exited));
  }
}

const version = /SIPp v\S+/.exec(spawnSync('sipp', ['-v'], { encoding: 'utf8' }).stdout ?? '')?.[0];
if (version === undefined) throw new Error('sipp is not installed: `apt-get install -y sip-tester`');
console.log(
  `${version}, Node ${process.version}, ${cpus().length} cores, load ${loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')}`,
);
if (process.env['BENCH_CASE'] === 'flood') {
  console.log(`${USERS} users, ${SECONDS} s per run, ${FLOOD_RATE} REGISTER/s, flood ${FLOOD_PPS} OPTIONS/s`);
  await measureFlood();
  process.exit(0);
}
if (process.env['BENCH_CASE'] === 'store') {
  console.log(`${USERS} users, ${SECONDS} s per round, disk store vs --memory, interleaved`);
  await measureStore();
  process.exit(0);
}
console.log(`${USERS} users, ${SECONDS} s per offered rate, rates ${RATES.join(', ')}/s`);
const baseline = sustained(await measure('1-peer baseline', 1, 0));
const main = sustained(await measure(`one peer of ${PEERS}`, PEERS, 2));
console.log(
  `load after: ${loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')}`,
);
console.log(
  JSON.stringify({
    registerPerSec: main.perSec,
    p99Ms: Number(main.p99Ms.toFixed(2)),
    failureRate: Number(main.failureRate.toFixed(4)),
    sustained: main.sustained,
    p50Ms: Number(main.p50Ms.toFixed(2)),
    cpuUsPerRegister: main.cpuUsPerRegister,
    baselineCpuUsPerRegister: baseline.cpuUsPerRegister,
    baselineRegisterPerSec: baseline.perSec,
    baselineP99Ms: Number(baseline.p99Ms.toFixed(2)),
    baselineSustained: baseline.sustained,
    ratioToBaseline: Number((main.perSec / Math.max(1, baseline.perSec)).toFixed(2)),
  }),
);
