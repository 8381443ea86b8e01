// `pnpm --filter @xpp/node-peer bench`: sipp REGISTER load with digest against one peer of a 5-peer overlay of
// real `xpp-node` processes on loopback, at rising offered rates; the baseline is the same load against a
// one-peer overlay (every record local, no overlay hops), and Kamailio as a reference registrar (bench/kamailio.ts;
// when installed, BENCH_KAMAILIO=0 leaves it out), all three interleaved per rate. Last line: one JSON object.
// BENCH_CASE=flood: the same REGISTER load at one rate (BENCH_FLOOD_RATE, default 250/s) against a one-peer overlay,
// without and then with one source flooding OPTIONS at BENCH_FLOOD_PPS (default 5 000/s), in one run.
// BENCH_CASE=store: the disk store (records.db, the default) against `--memory`, two 5-peer overlays side by side,
// BENCH_ROUNDS rounds at BENCH_STORE_RATE offered, the two interleaved (order alternating); medians and spread.
// BENCH_PROFILE=<dir>: a V8 CPU profile of the peer under load (bench/profile-summary.ts reads it).
import { spawnSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { invitePeer } from '../src/cli/peer-commands.js';
import { addUser } from '../src/cli/user-add.js';
import { waitFor } from '@xpp/reliability/testing';
import { NodeProcess } from '../test/support/node-process.js';
import { kamailioVersion, startKamailio, type Kamailio } from './kamailio.js';
import {
  benchUsers,
  describe,
  processTarget,
  sipp,
  sustained,
  writeUsersCsv,
  type RunResult,
  type SippTarget,
} from './sipp.js';

const USERS = Number(process.env['BENCH_USERS'] ?? 2000);
const SECONDS = Number(process.env['BENCH_SECONDS'] ?? 5);
const RATES = (process.env['BENCH_RATES'] ?? '250,500,1000,2000').split(',').map(Number);
const PEERS = 5;
const FLOOD_RATE = Number(process.env['BENCH_FLOOD_RATE'] ?? 250);
const FLOOD_PPS = Number(process.env['BENCH_FLOOD_PPS'] ?? 5000);

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

async function stopAll(procs: readonly NodeProcess[]): Promise<void> {
  for (const p of procs) p.child.kill('SIGTERM');
  await Promise.all(procs.map((p) => p.exited));
}

/** The bench users added to the overlay (through its first peer), and sipp's injection file for them. */
async function addUsers(base: string, httpPort: number): Promise<string> {
  const admin = { domain: 'localhost', dataDir: join(base, 'peer-0'), httpPort };
  const users = benchUsers(USERS);
  for (let i = 0; i < users.length; i += 50)
    await Promise.all(
      users
        .slice(i, i + 50)
        .map(({ user, password }) => addUser(admin, { aor: `sip:${user}@localhost`, password })),
    );
  return writeUsersCsv(join(base, 'users.csv'), users);
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
    const target = processTarget(net.sip[0]!, net.procs[0]!.child.pid!);
    const quiet = await sipp(mkdtempSync(join(base, 'sipp-quiet-')), users, target, FLOOD_RATE, SECONDS);
    const stop = await flood(target.sip, FLOOD_PPS);
    const loaded = await sipp(mkdtempSync(join(base, 'sipp-flood-')), users, target, FLOOD_RATE, SECONDS);
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
    await stopAll(net.procs);
  }
}

/** One registrar under the rate ladder: where sipp sends, and the runs so far. */
interface Ladder {
  readonly label: string;
  readonly base: string;
  readonly users: string;
  readonly target: SippTarget;
  readonly cpuLabel: string;
  readonly results: RunResult[];
}

/**
 * The default case: the rate ladder against one peer of a 5-peer overlay, a 1-peer overlay (the baseline) and,
 * when installed, Kamailio, all three up at once and interleaved per rate (the order rotating from one rate to the
 * next) so that the machine's load falls on all alike. Prints one JSON line.
 */
async function measureLadder(): Promise<void> {
  const stops: (() => Promise<void>)[] = [];
  const ladders: Ladder[] = [];
  try {
    for (const [label, count, target] of [
      ['1-peer baseline', 1, 0],
      [`one peer of ${PEERS}`, PEERS, 2],
    ] as const) {
      const base = mkdtempSync(join(tmpdir(), `xpp-bench-${count}-peer-`));
      const net = await overlay(base, count, target);
      stops.push(() => stopAll(net.procs));
      const users = await addUsers(base, net.http[0]!);
      const peer = processTarget(net.sip[target]!, net.procs[target]!.child.pid!);
      ladders.push({ label, base, users, target: peer, cpuLabel: 'peer CPU', results: [] });
    }
    let kamailio: Kamailio | undefined;
    if (process.env['BENCH_KAMAILIO'] === '0') console.log('no Kamailio run: BENCH_KAMAILIO=0');
    else if (kamailioVersion() === undefined)
      console.log(
        'no Kamailio run: `apt-get install -y kamailio kamailio-sqlite-modules` to compare with it',
      );
    else {
      const base = mkdtempSync(join(tmpdir(), 'xpp-bench-kamailio-'));
      const k = (kamailio = await startKamailio(base, benchUsers(USERS)));
      stops.push(() => k.stop());
      const users = writeUsersCsv(join(base, 'users.csv'), benchUsers(USERS));
      const cpuLabel = `its CPU (${k.pids().length} processes)`;
      console.log(`${k.version}: digest REGISTER 200, wrong password refused; ${k.pids().length} processes`);
      ladders.push({ label: 'Kamailio', base, users, target: k, cpuLabel, results: [] });
    }
    for (const [i, rate] of RATES.entries())
      for (let k = 0; k < ladders.length; k++) {
        const ladder = ladders[(i + k) % ladders.length]!;
        const dir = mkdtempSync(join(ladder.base, `sipp-${rate}-`));
        const r = await sipp(dir, ladder.users, ladder.target, rate, SECONDS);
        console.log(describe(ladder.label, r, ladder.cpuLabel));
        ladder.results.push(r);
      }
    console.log(
      `load after: ${loadavg()
        .map((l) => l.toFixed(1))
        .join(' ')}`,
    );
    const [baseline, main] = ladders.map((l) => sustained(l.results)) as [Sustained, Sustained];
    const ours = ladders[1]!.results;
    const theirs = ladders[2]?.results;
    console.log(
      JSON.stringify({
        registerPerSec: main.perSec,
        p99Ms: round(main.p99Ms),
        failureRate: Number(main.failureRate.toFixed(4)),
        sustained: main.sustained,
        p50Ms: round(main.p50Ms),
        cpuUsPerRegister: main.cpuUsPerRegister,
        baselineCpuUsPerRegister: baseline.cpuUsPerRegister,
        baselineRegisterPerSec: baseline.perSec,
        baselineP99Ms: round(baseline.p99Ms),
        baselineSustained: baseline.sustained,
        ratioToBaseline: round(main.perSec / Math.max(1, baseline.perSec)),
        ...(kamailio === undefined || theirs === undefined
          ? { kamailio: null }
          : kamailioFigures(kamailio.version, main, ours, theirs)),
      }),
    );
  } finally {
    for (const stop of stops.reverse()) await stop();
  }
}

type Sustained = ReturnType<typeof sustained>;

const round = (v: number) => Number(v.toFixed(2));

/**
 * Kamailio's side of the last line: its sustained rate, p99 and CPU µs per REGISTER (all its processes), ours ÷
 * its sustained rate and ours ÷ its CPU per REGISTER each at its own sustained rate (the figures), and the
 * CPU ratio at the same offered rate (our sustained one), where neither side's batching differs by load.
 */
function kamailioFigures(
  version: string,
  main: Sustained,
  ours: readonly RunResult[],
  theirs: readonly RunResult[],
): Record<string, string | number | boolean> {
  const kamailio = sustained(theirs);
  const sameRate = theirs.find((r) => r.offered === main.offered);
  const ourSameRate = ours.find((r) => r.offered === main.offered);
  return {
    kamailioVersion: version,
    kamailioRegisterPerSec: kamailio.perSec,
    kamailioP99Ms: round(kamailio.p99Ms),
    kamailioFailureRate: Number(kamailio.failureRate.toFixed(4)),
    kamailioSustained: kamailio.sustained,
    kamailioCpuUsPerRegister: kamailio.cpuUsPerRegister,
    ratioKamailio: round(main.perSec / Math.max(1, kamailio.perSec)),
    cpuRatioKamailio: round(main.cpuUsPerRegister / Math.max(1, kamailio.cpuUsPerRegister)),
    ...(sameRate === undefined || ourSameRate === undefined
      ? {}
      : {
          cpuRatioKamailioSameRate: round(
            ourSameRate.cpuUsPerRegister / Math.max(1, sameRate.cpuUsPerRegister),
          ),
        }),
  };
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
        const peer = processTarget(net.sip[target]!, net.procs[target]!.child.pid!);
        const r = await sipp(dir, users, peer, rate, SECONDS);
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
    await stopAll([...nets.values()].flatMap((n) => n.net.procs));
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
await measureLadder();
