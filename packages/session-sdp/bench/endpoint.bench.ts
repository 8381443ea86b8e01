// The XPP endpoint end to end on loopback: session setup time by SIP (INVITE → open session), unauthenticated
// and authenticated (a=xpp-auth, alternating, see setup-auth.ts), and what
// security costs — sealed vs plaintext request/response latency and bulk goodput, measured in the same run
// against a receiver in another process — with each AEAD (libsodium, the package's, and node:crypto, the one it
// replaced) interleaved round by round, plus seal+open of one datagram by each. Two baselines run in the same
// rounds: the same bulk transfer through @hyperswarm/secret-stream over udx-native (hyperdht's encrypted stream)
// and a raw UDP echo of the PING's payload. Figures are medians over the rounds with their range. The last line
// printed is one JSON object of the figures.
import { loadavg } from 'node:os';
import { udpEchoClient } from '@xpp/test-kit';
import { Operation, Option } from '@xpp/wire';
import { SEAL_OVERHEAD, SessionCipher, XppEndpoint, type XppSession } from '../src/index.js';
import { descriptionFromJson, descriptionToJson } from './description-json.js';
import { AUTH_BLOB_OCTETS, measureSetups, type SetupKind } from './setup-auth.js';
import { useAead, type AeadName } from './node-crypto-aead.js';
import { peerProcess } from './peer-process.js';
import { secretStreamGoodput } from './secret-stream.js';

const quick = process.env['BENCH_QUICK'] === '1';
const SETUPS = quick ? 5 : 30;
const PINGS = quick ? 300 : 3000;
const BULK_OCTETS = (quick ? 4 : 32) * 1024 * 1024;
/** DATA octets per bulk message (a 64 KiB XPP message less its headers) and per secret-stream write. */
const CHUNK = 65_000;
const CHUNKS = Math.ceil(BULK_OCTETS / CHUNK);
/** DATA octets per PING, and octets per raw UDP echo datagram. */
const PING_OCTETS = 100;
const IN_FLIGHT = 16;
const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? (quick ? 1 : 3));
const SEALS = quick ? 5_000 : 50_000;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
const percentile = (xs: number[], p: number) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))] ?? NaN;

type Mode = 'plain' | 'secure-sodium' | 'secure-node-crypto';
const aeadOf = (mode: Mode): AeadName => (mode === 'secure-node-crypto' ? 'node-crypto' : 'sodium');

async function withRemotePeer<T>(mode: Mode, run: (session: XppSession) => Promise<T>): Promise<T> {
  const peer = peerProcess('./endpoint-peer.ts', [mode === 'plain' ? 'plain' : 'secure', aeadOf(mode)]);
  useAead(aeadOf(mode));
  const endpoint = await XppEndpoint.bind({ security: mode === 'plain' ? 'off' : 'required' });
  const prepared = endpoint.prepare();
  peer.write(descriptionToJson(prepared.description));
  const session = await prepared.open(descriptionFromJson(await peer.line()));
  try {
    return await run(session);
  } finally {
    await peer.stop();
    await endpoint.close();
  }
}

/** PINGS sequential round trips, no warm-up (the same loop for XPP and for the raw UDP echo). */
async function latency(roundTrip: () => Promise<unknown>): Promise<{ p50Us: number; p99Us: number }> {
  const times: number[] = [];
  for (let i = 0; i < PINGS; i++) {
    const start = performance.now();
    await roundTrip();
    times.push((performance.now() - start) * 1000);
  }
  return { p50Us: median(times), p99Us: percentile(times, 0.99) };
}

function ping(session: XppSession): () => Promise<unknown> {
  const options = [Option.DATA.option(new Uint8Array(PING_OCTETS).fill(1))];
  return () => session.request(Operation.PING.type, options);
}

/** The raw UDP echo: PING_OCTETS-octet datagrams to an echo in its own process, as the XPP peer is. */
async function udpEcho(): Promise<{ p50Us: number; p99Us: number }> {
  const peer = peerProcess('./baseline-peer.ts', ['udp-echo']);
  const client = await udpEchoClient(Number(await peer.line()), PING_OCTETS);
  try {
    return await latency(client.roundTrip);
  } finally {
    client.close();
    await peer.stop();
  }
}

/** MB/s of DATA octets: CHUNKS messages of CHUNK octets, IN_FLIGHT at a time, until the last is acknowledged. */
async function goodput(session: XppSession): Promise<number> {
  const message = {
    number: 0,
    response: false,
    type: 0x4000,
    options: [Option.DATA.option(new Uint8Array(CHUNK).fill(7))],
  };
  const start = performance.now();
  const inFlight = new Set<Promise<void>>();
  for (let i = 0; i < CHUNKS; i++) {
    const p: Promise<void> = session.send(message).finally(() => inFlight.delete(p));
    inFlight.add(p);
    if (inFlight.size >= IN_FLIGHT) await Promise.race(inFlight);
  }
  await Promise.all(inFlight);
  return (CHUNKS * CHUNK) / ((performance.now() - start) / 1000) / 1e6;
}

/** µs per seal+open of one 1,200-octet datagram, whole-datagram calls as the endpoint makes them. */
function sealOpenUs(name: AeadName): number {
  useAead(name);
  const keys = { send: new Uint8Array(32).fill(1), receive: new Uint8Array(32).fill(1) };
  const sealer = new SessionCipher(keys);
  const opener = new SessionCipher(keys, { replayWindow: 65_536 });
  const datagram = new Uint8Array(1200 - SEAL_OVERHEAD).fill(0x61);
  const wire = new Uint8Array(1200);
  const received = new Uint8Array(1200);
  const start = performance.now();
  for (let i = 0; i < SEALS; i++) {
    sealer.sealDatagram(datagram, wire);
    received.set(wire);
    if (!opener.openDatagram(received).ok) throw new Error('bench datagram did not open');
  }
  return ((performance.now() - start) * 1000) / SEALS;
}

interface Round {
  p50Us: number;
  p99Us: number;
  goodputMBps: number;
}

const setups = await measureSetups(ROUNDS, SETUPS);
const modes: Mode[] = ['plain', 'secure-sodium', 'secure-node-crypto'];
const runs: Record<Mode, Round[]> = { plain: [], 'secure-sodium': [], 'secure-node-crypto': [] };
const secretStreamMBps: number[] = [];
const udpEchoes: { p50Us: number; p99Us: number }[] = [];
const seals: Record<AeadName, number[]> = { sodium: [], 'node-crypto': [] };
const steps: (() => Promise<void>)[] = [
  ...modes.map((mode) => async () => {
    runs[mode].push(
      await withRemotePeer(mode, async (session) => ({
        ...(await latency(ping(session))),
        goodputMBps: await goodput(session),
      })),
    );
  }),
  async () => {
    secretStreamMBps.push(await secretStreamGoodput(CHUNK, CHUNKS));
  },
  async () => {
    udpEchoes.push(await udpEcho());
  },
];
// Each round runs every mode and baseline, starting one further along, so drift on a busy machine hits all alike.
for (let round = 0; round < ROUNDS; round++) {
  for (let i = 0; i < steps.length; i++) await steps[(round + i) % steps.length]!();
  for (const name of round % 2 === 0
    ? (['sodium', 'node-crypto'] as const)
    : (['node-crypto', 'sodium'] as const)) {
    seals[name].push(sealOpenUs(name));
  }
}

/** Median with the range over rounds. */
interface Spread {
  median: number;
  min: number;
  max: number;
}
const spread = (xs: number[], digits: number): Spread => {
  const round = (x: number) => Number(x.toFixed(digits));
  return { median: round(median(xs)), min: round(Math.min(...xs)), max: round(Math.max(...xs)) };
};
const of = (mode: Mode, key: keyof Round) => runs[mode].map((r) => r[key]);
const field = (mode: Mode, key: keyof Round, digits: number) => spread(of(mode, key), digits);
/** Per-round ratio of `xs` to `baseline` (the two ran in the same round), as median and range. */
const perRound = (xs: number[], baseline: number[]) =>
  spread(
    xs.map((x, i) => x / (baseline[i] ?? NaN)),
    2,
  );
/** Per-round ratio of `mode` to plain. */
const ratio = (mode: Mode, key: keyof Round) => perRound(of(mode, key), of('plain', key));
const udpP50 = udpEchoes.map((r) => r.p50Us);
const secretStream = spread(secretStreamMBps, 1);
const udpEchoP50 = spread(udpP50, 0);

const show = (s: Spread) => `${s.median} (${s.min}–${s.max})`;
const table: Record<string, Record<string, string>> = Object.fromEntries(
  modes.map((mode) => [
    mode,
    {
      'p50 µs': show(field(mode, 'p50Us', 0)),
      'p99 µs': show(field(mode, 'p99Us', 0)),
      'goodput MB/s': show(field(mode, 'goodputMBps', 1)),
    },
  ]),
);
table['secret-stream/udx'] = { 'goodput MB/s': show(secretStream) };
table['raw UDP echo'] = {
  'p50 µs': show(udpEchoP50),
  'p99 µs': show(
    spread(
      udpEchoes.map((r) => r.p99Us),
      0,
    ),
  ),
};
console.table(table);
const sodiumSeal = spread(seals.sodium, 2);
const nodeSeal = spread(seals['node-crypto'], 2);
console.log(
  `seal+open of a 1200-octet datagram: sodium ${sodiumSeal.median} µs (${sodiumSeal.min}–${sodiumSeal.max}), ` +
    `node:crypto ${nodeSeal.median} µs (${nodeSeal.min}–${nodeSeal.max}); ${ROUNDS} rounds, medians (range)`,
);
/** A kind's per-round medians, wall-clock or CPU, as median and range over the rounds. */
const setupOf = (kind: SetupKind, cpu = false) =>
  spread(
    setups.map((r) => (cpu ? r.cpuMs : r.ms)[kind]),
    2,
  );
/** Per round: authenticated ÷ unauthenticated median setup (the same endpoints, alternating). */
const setupRatio = (kind: 'auth' | 'cert', cpu = false) =>
  spread(
    setups.map((r) => (cpu ? r.cpuMs : r.ms)[kind] / (cpu ? r.cpuMs : r.ms).plain),
    2,
  );
const setupMs = setupOf('plain');
const authSetupMs = setupOf('auth');
const certSetupMs = setupOf('cert');
const authSetupRatio = setupRatio('auth');
const certSetupRatio = setupRatio('cert');
const authSetupCpuRatio = setupRatio('auth', true);
console.log(
  `session setup by SIP (INVITE → open), ${SETUPS} of each kind alternating × ${ROUNDS} rounds, ms: ` +
    `unauthenticated ${show(setupMs)}; authenticated, ${AUTH_BLOB_OCTETS}-octet Ed25519 ${show(authSetupMs)}, ` +
    `ratio ${show(authSetupRatio)}; certificate-like (two verifications) ${show(certSetupMs)}, ratio ` +
    `${show(certSetupRatio)}. CPU ms per setup (both ends): ${show(setupOf('plain', true))}, ` +
    `${show(setupOf('auth', true))}, ${show(setupOf('cert', true))}; ratio ${show(authSetupCpuRatio)}`,
);
const goodputRatio = ratio('secure-sodium', 'goodputMBps');
const goodputRatioNode = ratio('secure-node-crypto', 'goodputMBps');
const p50Ratio = ratio('secure-sodium', 'p50Us');
const p50RatioNode = ratio('secure-node-crypto', 'p50Us');
const ratioSecretStream = perRound(of('secure-sodium', 'goodputMBps'), secretStreamMBps);
const secureP50RatioUdp = perRound(of('secure-sodium', 'p50Us'), udpP50);
console.log(
  `secured XPP ÷ secret-stream/udx bulk goodput, per round: ${show(ratioSecretStream)}; ` +
    `secured XPP ÷ raw UDP echo p50: ${show(secureP50RatioUdp)}`,
);
console.log(
  JSON.stringify({
    setupMs: setupMs.median,
    authSetupMs: authSetupMs.median,
    authSetupRatio: authSetupRatio.median,
    certAuthSetupMs: certSetupMs.median,
    certAuthSetupRatio: certSetupRatio.median,
    authSetupCpuRatio: authSetupCpuRatio.median,
    certAuthSetupCpuRatio: setupRatio('cert', true).median,
    rounds: ROUNDS,
    loadAverage1m: Number((loadavg()[0] ?? 0).toFixed(2)),
    secureGoodputRatio: goodputRatio.median,
    secureGoodputMBps: field('secure-sodium', 'goodputMBps', 1).median,
    plainGoodputMBps: field('plain', 'goodputMBps', 1).median,
    secureP50Us: field('secure-sodium', 'p50Us', 0).median,
    plainP50Us: field('plain', 'p50Us', 0).median,
    secureP50Ratio: p50Ratio.median,
    ratioSecretStream: ratioSecretStream.median,
    secretStreamMBps: secretStream.median,
    secureP50RatioUdp: secureP50RatioUdp.median,
    udpP50Us: udpEchoP50.median,
    sealOpenUs: sodiumSeal.median,
    nodeCrypto: {
      secureGoodputRatio: goodputRatioNode.median,
      secureGoodputMBps: field('secure-node-crypto', 'goodputMBps', 1).median,
      secureP50Us: field('secure-node-crypto', 'p50Us', 0).median,
      secureP50Ratio: p50RatioNode.median,
      sealOpenUs: nodeSeal.median,
    },
    range: {
      setupMs: [setupMs.min, setupMs.max],
      authSetupRatio: [authSetupRatio.min, authSetupRatio.max],
      certAuthSetupRatio: [certSetupRatio.min, certSetupRatio.max],
      authSetupCpuRatio: [authSetupCpuRatio.min, authSetupCpuRatio.max],
      secureGoodputRatio: [goodputRatio.min, goodputRatio.max],
      secureP50Ratio: [p50Ratio.min, p50Ratio.max],
      ratioSecretStream: [ratioSecretStream.min, ratioSecretStream.max],
      secureP50RatioUdp: [secureP50RatioUdp.min, secureP50RatioUdp.max],
      sealOpenUs: [sodiumSeal.min, sodiumSeal.max],
      nodeCryptoSecureGoodputRatio: [goodputRatioNode.min, goodputRatioNode.max],
      nodeCryptoSealOpenUs: [nodeSeal.min, nodeSeal.max],
    },
  }),
);
