// `pnpm --filter @xpp/node-peer bench:transports` (issue #20 "Benchmarks"): one `xpp-node` process with TLS and WSS.
// 1. REGISTER with digest from sipp over UDP, TCP (`-t t1`) and TLS (stunnel4 in front of sipp `-t t1`: Debian's sipp
//    has no TLS), the same users at the same offered rate, in interleaved rounds: medians, and TCP/TLS as a ratio
//    to UDP of the same run (target ≥ 0.7×).
// 2. 10 000 idle TLS and WSS connections held by the peer, each answering a CRLF CRLF keep-alive, and the RSS per
//    connection beside a bare `node:tls` / `ws` server (bench/bare-stream-server.ts) holding the same in the same run
//    (target ≤ 1.2×). The package script raises `ulimit -n`. Last line: one JSON object.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { fileURLToPath } from 'node:url';
import { freeUdpPort } from '@xpp/test-kit';
import { waitFor } from '@xpp/reliability/testing';
import WebSocket from 'ws';
import { addUser } from '../src/cli/user-add.js';
import { NodeProcess } from '../test/support/node-process.js';
import { selfSignedPair } from '../test/support/tls-pair.js';

const SCENARIO = fileURLToPath(new URL('./register-load.xml', import.meta.url));
const BARE = fileURLToPath(new URL('./bare-stream-server.ts', import.meta.url));
const USERS = Number(process.env['BENCH_USERS'] ?? 1000);
const SECONDS = Number(process.env['BENCH_SECONDS'] ?? 5);
/** Offered high enough that each transport runs at what it can carry: the figure is a capacity. */
const RATE = Number(process.env['BENCH_RATE'] ?? 600);
const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 3);
const CONNECTIONS = Number(process.env['BENCH_CONNECTIONS'] ?? 10_000);
/** TLS handshakes in flight at once while connections are opened. */
const OPENING = 50;
/** Connections that failed to open and were tried again (a handshake timed out on the loaded machine). */
let retried = 0;

type Load = 'udp' | 'tcp' | 'tls';

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? Number.NaN : (s[Math.floor((s.length - 1) / 2)] as number);
};
const load = (): string =>
  loadavg()
    .map((l) => l.toFixed(1))
    .join(' ');

/** Resident set of a process, KiB (/proc, Linux). */
function rssKiB(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8')
    .split('\n')
    .find((l) => l.startsWith('VmRSS:'));
  return Number(/(\d+)/.exec(line ?? '')?.[1] ?? Number.NaN);
}

async function startPeer(dir: string): Promise<{ proc: NodeProcess; ports: Record<string, number> }> {
  const pair = selfSignedPair(dir);
  const config = join(dir, 'node.json');
  // sipp 3.6 reads only the first challenge and knows only MD5; room for every idle connection of the bench.
  writeFileSync(
    config,
    JSON.stringify({
      digestAlgorithms: ['MD5', 'SHA-256'],
      dimensions: 2,
      sipStreamLimits: { maxConnections: CONNECTIONS + 1024 },
    }),
  );
  const proc = new NodeProcess(
    ['start', '--data-dir', join(dir, 'peer'), '--config', config, '--log-level', 'info']
      .concat([
        '--sip-port',
        '0',
        '--xpp-port',
        '0',
        '--http-port',
        '0',
        '--tls-port',
        '0',
        '--wss-port',
        '0',
      ])
      .concat(['--tls-cert', pair.cert, '--tls-key', pair.key]),
  );
  return { proc, ports: (await proc.ports()) as unknown as Record<string, number> };
}

async function addUsers(dir: string, httpPort: number): Promise<string> {
  const admin = { domain: 'localhost', dataDir: join(dir, 'peer'), httpPort };
  const lines = ['SEQUENTIAL'];
  for (let i = 0; i < USERS; i += 50) {
    const batch = Array.from({ length: Math.min(50, USERS - i) }, (_, k) => `load${i + k}`);
    for (const user of batch) lines.push(`${user};[authentication username=${user} password=pw-${user}]`);
    await Promise.all(batch.map((u) => addUser(admin, { aor: `sip:${u}@localhost`, password: `pw-${u}` })));
  }
  const file = join(dir, 'users.csv');
  writeFileSync(file, `${lines.join('\n')}\n`);
  return file;
}

/** stunnel4 as a TLS client: plain TCP on a local port, TLS (certificate checked) to the peer's TLS port. */
async function stunnel(dir: string, tlsPort: number): Promise<{ port: number; child: ChildProcess }> {
  const port = await freeUdpPort();
  const conf = join(dir, 'stunnel.conf');
  writeFileSync(
    conf,
    ['foreground = yes', 'pid =', '[sip]', 'client = yes', `accept = 127.0.0.1:${port}`]
      .concat([`connect = 127.0.0.1:${tlsPort}`, `CAfile = ${join(dir, 'cert.pem')}`])
      .concat(['verifyChain = yes', 'checkHost = localhost', ''])
      .join('\n'),
  );
  const child = spawn('stunnel4', [conf], { stdio: 'ignore' });
  await new Promise((r) => setTimeout(r, 500));
  return { port, child };
}

/** One sipp run at RATE for SECONDS over `load`; successful registrations per second of wall-clock time. */
async function sipp(dir: string, users: string, load: Load, target: number): Promise<number> {
  const calls = RATE * SECONDS;
  const args = ['-sf', SCENARIO, '-inf', users, '-i', '127.0.0.1', '-p', String(await freeUdpPort())]
    .concat(['-nd', '-r', String(RATE), '-rp', '1000', '-m', String(calls), '-l', String(RATE)])
    .concat(['-nostdin', '-timeout', `${SECONDS * 4 + 20}s`, '-trace_stat', '-fd', '1'])
    // The digest `uri` is the Request-URI's host, not the address sipp sends to (stunnel's, for TLS).
    .concat(['-auth_uri', 'localhost', ...(load === 'udp' ? [] : ['-t', 't1']), `127.0.0.1:${target}`]);
  const started = performance.now();
  await new Promise<void>((resolve, reject) => {
    const child = spawn('sipp', args, { cwd: dir, stdio: 'ignore' });
    child.on('error', reject);
    child.on('close', () => resolve());
  });
  const elapsedS = (performance.now() - started) / 1000;
  const statFile = readdirSync(dir).find((f) => f.endsWith('_.csv'));
  if (statFile === undefined) throw new Error(`sipp over ${load} left no statistics`);
  const stat = readFileSync(join(dir, statFile), 'utf8').trim().split('\n');
  const head = (stat[0] ?? '').split(';');
  const last = (stat[stat.length - 1] ?? '').split(';');
  return Math.round(Number(last[head.indexOf('SuccessfulCall(C)')]) / elapsedS);
}

/** A held client connection: sends a CRLF CRLF ping, counts the CRLF pongs. */
interface Held {
  ping(): void;
  pongs: number;
  close(): void;
}

function openTls(port: number, ca: Buffer): Promise<Held> {
  return new Promise((resolve, reject) => {
    const socket: TLSSocket = tlsConnect({ host: '127.0.0.1', port, ca, servername: 'localhost' });
    const held: Held = {
      ping: () => socket.write('\r\n\r\n'),
      pongs: 0,
      close: () => socket.destroy(),
    };
    socket.on('data', (d: Buffer) => (held.pongs += d.toString() === '\r\n' ? 1 : 0));
    socket.once('secureConnect', () => resolve(held));
    socket.on('error', reject);
  });
}

function openWss(port: number, ca: Buffer): Promise<Held> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`wss://localhost:${port}`, 'sip', { ca });
    const held: Held = { ping: () => ws.send('\r\n\r\n'), pongs: 0, close: () => ws.terminate() };
    ws.on('message', (d: Buffer) => (held.pongs += d.toString() === '\r\n' ? 1 : 0));
    ws.once('open', () => resolve(held));
    // Kept for the socket's life: a later reset must not be an unhandled 'error'.
    ws.on('error', reject);
  });
}

/**
 * Opens CONNECTIONS to a server process, OPENING at a time; its RSS growth per connection once they settle (KiB),
 * and how many answered a keep-alive within 10 s.
 */
async function hold(
  pid: number,
  open: () => Promise<Held>,
): Promise<{ kibPerConnection: number; answered: number }> {
  await new Promise((r) => setTimeout(r, 2000));
  const before = rssKiB(pid);
  const held: Held[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: OPENING }, async () => {
      while (next < CONNECTIONS) {
        next++;
        for (;;) {
          try {
            held.push(await open());
            break;
          } catch {
            retried++;
          }
        }
      }
    }),
  );
  await new Promise((r) => setTimeout(r, 3000));
  const after = rssKiB(pid);
  for (const h of held) h.ping();
  await waitFor(() => held.every((h) => h.pongs > 0), {
    what: 'keep-alives answered',
    timeoutMs: 10_000,
    intervalMs: 100,
  }).catch(() => undefined);
  const answered = held.filter((h) => h.pongs > 0).length;
  for (const h of held) h.close();
  await new Promise((r) => setTimeout(r, 2000));
  return { kibPerConnection: (after - before) / held.length, answered };
}

/** The bare server (`tls` or `wss`) in its own process; its port once listening. */
async function bare(kind: 'tls' | 'wss', dir: string): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(process.execPath, ['--import', 'tsx', BARE, kind, dir], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout?.on('data', (c: Buffer) => (out += c.toString()));
  const port = await waitFor(() => (/port (\d+)/.exec(out)?.[1] as string | undefined) ?? undefined, {
    what: `the bare ${kind} server`,
    timeoutMs: 20_000,
    intervalMs: 50,
  });
  return { child, port: Number(port) };
}

const version = /SIPp v\S+/.exec(spawnSync('sipp', ['-v'], { encoding: 'utf8' }).stdout ?? '')?.[0];
if (version === undefined) throw new Error('sipp is not installed: `apt-get install -y sip-tester`');
if (spawnSync('stunnel4', ['-version']).error !== undefined) throw new Error('stunnel4 is not installed');
console.log(`${version}, Node ${process.version}, ${cpus().length} cores, load ${load()}`);
console.log(
  `${USERS} users, ${RATE} REGISTER/s offered for ${SECONDS} s, ${ROUNDS} rounds; ${CONNECTIONS} idle connections`,
);
const dir = mkdtempSync(join(tmpdir(), 'xpp-bench-transports-'));
const { proc, ports } = await startPeer(dir);
const tunnel = await stunnel(dir, ports['sipTls']!);
const result: Record<string, number | string> = {};
try {
  const users = ROUNDS > 0 ? await addUsers(dir, ports['http']!) : '';
  const perSec: Record<Load, number[]> = { udp: [], tcp: [], tls: [] };
  for (let round = 1; round <= ROUNDS; round++) {
    for (const l of ['udp', 'tcp', 'tls'] as const) {
      const target = l === 'tls' ? tunnel.port : ports['sip']!;
      const r = await sipp(mkdtempSync(join(dir, `sipp-${l}-${round}-`)), users, l, target);
      perSec[l].push(r);
      console.log(`round ${round} ${l}: ${r}/s ok (load ${load()})`);
    }
  }
  const [udp, tcp, tls] = (['udp', 'tcp', 'tls'] as const).map((l) => median(perSec[l])) as [
    number,
    number,
    number,
  ];
  if (ROUNDS > 0)
    Object.assign(result, {
      registerPerSecUdp: udp,
      registerPerSecTcp: tcp,
      registerPerSecTls: tls,
      tcpRatioToUdp: Number((tcp / udp).toFixed(2)),
      tlsRatioToUdp: Number((tls / udp).toFixed(2)),
    });
  const ca = readFileSync(join(dir, 'cert.pem'));
  for (const kind of ['tls', 'wss'] as const) {
    const open = (port: number, trusted: Buffer) => () =>
      kind === 'tls' ? openTls(port, trusted) : openWss(port, trusted);
    // A fresh peer, as the bare server is fresh: the garbage of the REGISTER runs, collected while connections are
    // opened, would show as a smaller growth.
    const idleDir = mkdtempSync(join(dir, `idle-${kind}-`));
    const fresh = await startPeer(idleDir);
    let peer: Awaited<ReturnType<typeof hold>>;
    try {
      const port = kind === 'tls' ? fresh.ports['sipTls']! : fresh.ports['sipWss']!;
      peer = await hold(fresh.proc.child.pid!, open(port, readFileSync(join(idleDir, 'cert.pem'))));
    } finally {
      fresh.proc.child.kill('SIGTERM');
      await fresh.proc.exited;
    }
    const server = await bare(kind, dir);
    let base: Awaited<ReturnType<typeof hold>>;
    try {
      base = await hold(server.child.pid!, open(server.port, ca));
    } finally {
      server.child.kill('SIGTERM');
    }
    console.log(
      `${kind}: peer ${peer.kibPerConnection.toFixed(1)} KiB/connection (${peer.answered} keep-alives answered), ` +
        `bare ${base.kibPerConnection.toFixed(1)} KiB (${base.answered}) (load ${load()})`,
    );
    Object.assign(result, {
      [`${kind}IdleKiBPerConnection`]: Number(peer.kibPerConnection.toFixed(1)),
      [`${kind}BareKiBPerConnection`]: Number(base.kibPerConnection.toFixed(1)),
      [`${kind}IdleRatioToBare`]: Number((peer.kibPerConnection / base.kibPerConnection).toFixed(2)),
      [`${kind}KeepalivesAnswered`]: peer.answered,
      [`${kind}OpenRetries`]: retried,
    });
    retried = 0;
  }
} finally {
  tunnel.child.kill();
  proc.child.kill('SIGTERM');
  await proc.exited;
}
console.log(`load after: ${load()}`);
console.log(JSON.stringify(result));
