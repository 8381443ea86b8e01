// Bulk goodput and request/response latency over loopback between two processes, against baselines measured
// in the same run: a raw dgram blast (the ceiling of Node's UDP send path), udx-native, TCP and a raw UDP echo.
// `pnpm bench` (BENCH_MB=8 for a quick look). The last line is one JSON object of the figures.
import { type ChildProcess, fork } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { createRequire } from 'node:module';
import { connect } from 'node:net';
import { Operation, Option } from '@xpp/wire';
import { Operations, bindUdp, connectUdpChannel, socketAddress } from '../src/index.js';
import { type UdxConstructor, udpEchoClient } from '@xpp/test-kit';

const MB = 1e6;
const TOTAL = Number(process.env['BENCH_MB'] ?? 64) * 1024 * 1024;
const ROUND_TRIPS = Number(process.env['BENCH_RTT'] ?? 10_000);
const ECHO_ROUNDS = Number(process.env['BENCH_ECHO_ROUNDS'] ?? 3);
const DATAGRAM = 1200;
const CHUNK = 64 * 1024;

interface Peer {
  readonly child: ChildProcess;
  next<T>(): Promise<T>;
  tell(message: object): void;
  stop(): void;
}

function peer(role: string): Peer {
  const child = fork(new URL('./peer.ts', import.meta.url), [role, String(TOTAL)], {
    execArgv: [
      '--import',
      'tsx',
      ...(process.env['BENCH_PROFILE'] ? ['--cpu-prof', '--cpu-prof-dir=/tmp/xpp-prof'] : []),
    ],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const inbox: unknown[] = [];
  const waiting: ((m: unknown) => void)[] = [];
  child.on('message', (m) => {
    const w = waiting.shift();
    if (w === undefined) inbox.push(m);
    else w(m);
  });
  return {
    child,
    next: <T>() =>
      new Promise<T>((resolve) => {
        const m = inbox.shift();
        if (m === undefined) waiting.push((x) => resolve(x as T));
        else resolve(m as T);
      }),
    tell: (message) => child.send(message),
    stop: () => child.kill(),
  };
}

interface Report {
  bytes: number;
  ms: number;
}
const mbps = (r: Report): number => r.bytes / MB / (r.ms / 1000);

/** The blast's send-side rate (what the issue calls the ceiling) and what the receiving process took in. */
async function rawBlast(): Promise<{ sent: Report; received: Report }> {
  const sink = peer('raw');
  const { port } = await sink.next<{ port: number }>();
  const socket = createSocket({ type: 'udp4', sendBufferSize: 4 << 20 });
  await new Promise<void>((resolve) => socket.connect(port, '127.0.0.1', resolve));
  const datagram = Buffer.alloc(DATAGRAM, 7);
  const count = Math.ceil(TOTAL / DATAGRAM);
  const started = performance.now();
  // at most 256 sends queued in libuv, so the blast runs at the send path's speed without drowning the kernel
  await new Promise<void>((resolve) => {
    let sent = 0;
    let done = 0;
    const pump = (): void => {
      while (sent < count && sent - done < 256) {
        sent++;
        socket.send(datagram, onSent);
      }
    };
    const onSent = (): void => {
      done++;
      if (done === count) resolve();
      else pump();
    };
    pump();
  });
  const sent = { bytes: count * DATAGRAM, ms: performance.now() - started };
  const received = await sink.next<Report>();
  socket.close();
  sink.stop();
  return { sent, received };
}

async function tcp(): Promise<Report> {
  const sink = peer('tcp');
  const { port } = await sink.next<{ port: number }>();
  const socket = connect(port, '127.0.0.1');
  await new Promise((resolve) => socket.once('connect', resolve));
  const chunk = Buffer.alloc(CHUNK, 7);
  for (let sent = 0; sent < TOTAL; sent += CHUNK) {
    if (!socket.write(chunk)) await new Promise((resolve) => socket.once('drain', resolve));
  }
  const report = await sink.next<Report>();
  socket.destroy();
  sink.stop();
  return report;
}

async function udx(): Promise<Report> {
  const UDX = createRequire(import.meta.url)('udx-native') as UdxConstructor;
  const instance = new UDX();
  const socket = instance.createSocket();
  socket.bind(0, '127.0.0.1');
  const stream = instance.createStream(1);
  const sink = peer('udx');
  const { port } = await sink.next<{ port: number }>();
  sink.tell({ port: socket.address().port });
  stream.connect(socket, 2, port, '127.0.0.1');
  const chunk = Buffer.alloc(CHUNK, 7);
  for (let sent = 0; sent < TOTAL; sent += CHUNK) {
    if (!stream.write(chunk)) await new Promise<void>((resolve) => stream.once('drain', resolve));
  }
  const report = await sink.next<Report>();
  stream.destroy();
  await socket.close();
  sink.stop();
  return report;
}

/** XPP reliable messages of 64 KiB, 32 in flight, directly or through a lossy relay process. */
async function xpp(drop: number | undefined): Promise<Report & { retransmits: number; timeouts: number }> {
  const sink = peer('xpp');
  const { port: sinkPort } = await sink.next<{ port: number }>();
  let remote = sinkPort;
  let relay: Peer | undefined;
  if (drop !== undefined) {
    relay = peer('relay');
    relay.tell({ target: sinkPort, drop, seed: 5 });
    remote = (await relay.next<{ port: number }>()).port;
  }
  const socket = await bindUdp();
  sink.tell({ port: drop === undefined ? socketAddress(socket).port : remote });
  const channel = await connectUdpChannel({
    socket,
    remote: { address: '127.0.0.1', port: remote },
    localId: 1,
    remoteId: 2,
  });
  await channel.open();
  const data = new Uint8Array(CHUNK - 16).fill(7);
  const message = { number: 0, response: false, type: 0x4000, options: [Option.DATA.option(data)] };
  const count = Math.ceil(TOTAL / CHUNK);
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < count) {
      next++;
      await channel.send(message);
    }
  };
  await Promise.all(Array.from({ length: 32 }, lane));
  const report = await sink.next<Report>();
  const { retransmits, timeouts } = channel.stats;
  channel.close();
  socket.close();
  sink.stop();
  relay?.stop();
  return { ...report, retransmits, timeouts };
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}

async function latency(
  roundTrip: () => Promise<unknown>,
  measuring: () => void = () => {},
): Promise<{ p50: number; p99: number }> {
  for (let i = 0; i < 500; i++) await roundTrip(); // warm-up: JIT, RTT estimate
  measuring();
  const samples: number[] = [];
  for (let i = 0; i < ROUND_TRIPS; i++) {
    const t = performance.now();
    await roundTrip();
    samples.push((performance.now() - t) * 1000);
  }
  samples.sort((a, b) => a - b);
  return { p50: percentile(samples, 50), p99: percentile(samples, 99) };
}

async function udpEcho(): Promise<{ p50: number; p99: number }> {
  const echo = peer('echo-udp');
  const { port } = await echo.next<{ port: number }>();
  // the same octets on the wire as an XPP PING of 100 octets
  const client = await udpEchoClient(port, 100 + 8 + 12 + 4);
  const result = await latency(client.roundTrip);
  client.close();
  echo.stop();
  return result;
}

interface XppEchoResult {
  p50: number;
  p99: number;
  /** Datagrams both ways per request/response (requests, responses and stand-alone ACKs), measured rounds only. */
  datagrams: number;
  /** Of those, stand-alone ACK datagrams both ways. */
  acks: number;
}

/** PING request/response, one at a time; `piggybackAcks` on both channels or on neither. */
async function xppEcho(piggybackAcks: boolean): Promise<XppEchoResult> {
  const echo = peer(piggybackAcks ? 'echo-xpp-piggyback' : 'echo-xpp');
  const { port } = await echo.next<{ port: number }>();
  const socket = await bindUdp();
  echo.tell({ port: socketAddress(socket).port });
  const channel = await connectUdpChannel({
    socket,
    remote: { address: '127.0.0.1', port },
    localId: 1,
    remoteId: 2,
    piggybackAcks,
  });
  await channel.open();
  const operations = new Operations(channel);
  const data = [Option.DATA.option(new Uint8Array(100))];
  const deadline = process.env['BENCH_NO_DEADLINE'] ? { timeout: Number.POSITIVE_INFINITY } : {};
  // The peer's ACKs arrive here (no loss on loopback), so this side's counters see both directions.
  const count = (): number[] => {
    const s = channel.stats;
    return [s.datagramsSent + s.datagramsReceived, s.ackDatagramsSent];
  };
  let start = [0, 0];
  const result = await latency(
    () => operations.request(Operation.PING.type, data, deadline),
    () => {
      start = count();
    },
  );
  await new Promise((resolve) => setTimeout(resolve, 20)); // the last delayed ACK
  const end = count();
  const standalone = (end[0] as number) - (start[0] as number) - 2 * ROUND_TRIPS;
  channel.close();
  socket.close();
  echo.stop();
  return {
    ...result,
    datagrams: ((end[0] as number) - (start[0] as number)) / ROUND_TRIPS,
    acks: standalone / ROUND_TRIPS,
  };
}

/**
 * The echo with ACKs piggybacked and without, interleaved over `ECHO_ROUNDS` rounds in this run (the machine's
 * load moves between rounds); the median round of each by p50.
 */
async function xppEchoBoth(): Promise<{ on: XppEchoResult; off: XppEchoResult; spread: string }> {
  const on: XppEchoResult[] = [];
  const off: XppEchoResult[] = [];
  for (let i = 0; i < ECHO_ROUNDS; i++) {
    off.push(await xppEcho(false));
    on.push(await xppEcho(true));
  }
  const median = (rs: XppEchoResult[]): XppEchoResult =>
    [...rs].sort((a, b) => a.p50 - b.p50)[Math.floor(rs.length / 2)] as XppEchoResult;
  const range = (rs: XppEchoResult[]): string =>
    `${round(Math.min(...rs.map((r) => r.p50)), 1)}–${round(Math.max(...rs.map((r) => r.p50)), 1)}`;
  return { on: median(on), off: median(off), spread: `p50 range off ${range(off)} µs, on ${range(on)} µs` };
}

const round = (x: number, digits = 2): number => Number(x.toFixed(digits));

const echoRows = (
  echo: Awaited<ReturnType<typeof xppEchoBoth>>,
  udp: { p50: number; p99: number },
): [string, string][] => [
  ['raw UDP echo', `p50 ${round(udp.p50, 1)} µs, p99 ${round(udp.p99, 1)} µs`],
  ...(
    [
      ['XPP PING, stand-alone ACKs', echo.off],
      ['XPP PING, piggybacked ACKs', echo.on],
    ] as const
  ).map(([name, r]): [string, string] => [
    name,
    `p50 ${round(r.p50, 1)} µs, p99 ${round(r.p99, 1)} µs, ${round(r.datagrams)} datagrams per request ` +
      `(${round(r.acks)} of them ACKs)`,
  ]),
  ['  (interleaved rounds)', `${ECHO_ROUNDS} each, ${echo.spread}`],
];

if (process.env['BENCH_ONLY'] === 'xpp') {
  const r = await xpp(undefined);
  console.log('xpp direct', round(mbps(r)), 'MB/s', r);
  if (process.env['BENCH_RTT'] !== '0') console.log('xpp echo', await xppEchoBoth());
  process.exit(0);
}
if (process.env['BENCH_ONLY'] === 'echo') {
  const udp = await udpEcho();
  const echo = await xppEchoBoth();
  for (const [name, value] of echoRows(echo, udp)) console.log(`${name.padEnd(28)} ${value}`);
  console.log(
    JSON.stringify({
      p50Us: round(echo.on.p50, 1),
      p50RatioUdp: round(echo.on.p50 / udp.p50),
      p50UsStandaloneAcks: round(echo.off.p50, 1),
      datagramsPerRequest: round(echo.on.datagrams),
      datagramsPerRequestStandaloneAcks: round(echo.off.datagrams),
      udpP50Us: round(udp.p50, 1),
    }),
  );
  process.exit(0);
}
const raw = await rawBlast();
const tcpReport = await tcp();
const udxReport = await udx();
const ours = await xpp(undefined);
const relayed0 = await xpp(0);
const relayed5 = await xpp(0.05);
const echoRaw = await udpEcho();
const echoXpp = await xppEchoBoth();

const rows: [string, string][] = [
  [
    'raw dgram blast, sent',
    `${round(mbps(raw.sent))} MB/s (${round(raw.sent.bytes / DATAGRAM / (raw.sent.ms / 1000))} datagrams/s): the ceiling`,
  ],
  [
    'raw dgram blast, received',
    `${round(mbps(raw.received))} MB/s (${round((raw.received.bytes / raw.sent.bytes) * 100, 1)}% arrived)`,
  ],
  ['udx-native', `${round(mbps(udxReport))} MB/s`],
  ['TCP (net)', `${round(mbps(tcpReport))} MB/s`],
  ['XPP, direct, 0% loss', `${round(mbps(ours))} MB/s, ${ours.retransmits} retransmits`],
  ['XPP, relay, 0% loss', `${round(mbps(relayed0))} MB/s, ${relayed0.retransmits} retransmits`],
  [
    'XPP, relay, 5% loss',
    `${round(mbps(relayed5))} MB/s, ${relayed5.retransmits} retransmits, ${relayed5.timeouts} timeouts`,
  ],
  ...echoRows(echoXpp, echoRaw),
];
console.log(`bulk ${TOTAL / 1024 / 1024} MiB one way, ${ROUND_TRIPS} round trips, Node ${process.version}`);
for (const [name, value] of rows) console.log(`${name.padEnd(28)} ${value}`);
console.log(
  JSON.stringify({
    goodputMBps: round(mbps(ours)),
    ratioUdx: round(mbps(ours) / mbps(udxReport)),
    ratioUdpCeiling: round(mbps(ours) / mbps(raw.sent)),
    ratioTcp: round(mbps(ours) / mbps(tcpReport)),
    ratioLoss5: round(mbps(relayed5) / mbps(relayed0)),
    p50Us: round(echoXpp.on.p50, 1),
    p50RatioUdp: round(echoXpp.on.p50 / echoRaw.p50),
    ratioUdpReceived: round(mbps(ours) / mbps(raw.received)),
    udxMBps: round(mbps(udxReport)),
    udpSentMBps: round(mbps(raw.sent)),
    loss5MBps: round(mbps(relayed5)),
    p99Us: round(echoXpp.on.p99, 1),
    p50UsStandaloneAcks: round(echoXpp.off.p50, 1),
    datagramsPerRequest: round(echoXpp.on.datagrams),
    datagramsPerRequestStandaloneAcks: round(echoXpp.off.datagrams),
    udpP50Us: round(echoRaw.p50, 1),
  }),
);
