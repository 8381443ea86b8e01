// The XPP endpoint end to end on loopback: session setup time by SIP (INVITE → open session), unauthenticated
// and authenticated (a=xpp-auth, alternating, see setup-auth.ts), and what
// security costs — sealed vs plaintext request/response latency and bulk goodput, measured in the same run
// against a receiver in another process — with each AEAD (libsodium, the package's, and node:crypto, the one it
// replaced) interleaved round by round, plus seal+open of one datagram by each. Figures are medians over the
// rounds with their range. The last line printed is one JSON object of the figures.
import { spawn } from 'node:child_process';
import { loadavg } from 'node:os';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Operation, Option } from '@xpp/wire';
import { SEAL_OVERHEAD, SessionCipher, XppEndpoint, type XppSession } from '../src/index.js';
import { descriptionFromJson, descriptionToJson } from './description-json.js';
import { AUTH_BLOB_OCTETS, measureSetups, type SetupKind } from './setup-auth.js';
import { useAead, type AeadName } from './node-crypto-aead.js';

const quick = process.env['BENCH_QUICK'] === '1';
const SETUPS = quick ? 5 : 30;
const PINGS = quick ? 300 : 3000;
const BULK_OCTETS = (quick ? 4 : 32) * 1024 * 1024;
const MESSAGE = 64 * 1024;
const IN_FLIGHT = 16;
const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? (quick ? 1 : 3));
const SEALS = quick ? 5_000 : 50_000;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
const percentile = (xs: number[], p: number) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))] ?? NaN;

type Mode = 'plain' | 'secure-sodium' | 'secure-node-crypto';
const aeadOf = (mode: Mode): AeadName => (mode === 'secure-node-crypto' ? 'node-crypto' : 'sodium');

async function withRemotePeer<T>(mode: Mode, run: (session: XppSession) => Promise<T>): Promise<T> {
  const peer = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      fileURLToPath(new URL('./endpoint-peer.ts', import.meta.url)),
      mode === 'plain' ? 'plain' : 'secure',
      aeadOf(mode),
    ],
    {
      stdio: ['pipe', 'pipe', 'inherit'],
    },
  );
  useAead(aeadOf(mode));
  const endpoint = await XppEndpoint.bind({ security: mode === 'plain' ? 'off' : 'required' });
  const prepared = endpoint.prepare();
  peer.stdin.write(`${descriptionToJson(prepared.description)}\n`);
  const lines = createInterface({ input: peer.stdout });
  const [answer] = (await once(lines, 'line')) as [string];
  const session = await prepared.open(descriptionFromJson(answer));
  try {
    return await run(session);
  } finally {
    peer.stdin.write('quit\n');
    await once(peer, 'exit');
    await endpoint.close();
  }
}

async function latency(session: XppSession): Promise<{ p50Us: number; p99Us: number }> {
  const data = new Uint8Array(100).fill(1);
  const times: number[] = [];
  for (let i = 0; i < PINGS; i++) {
    const start = performance.now();
    await session.request(Operation.PING.type, [Option.DATA.option(data)]);
    times.push((performance.now() - start) * 1000);
  }
  return { p50Us: median(times), p99Us: percentile(times, 0.99) };
}

async function goodput(session: XppSession): Promise<number> {
  const payload = new Uint8Array(MESSAGE - 64).fill(7);
  const message = {
    number: 0,
    response: false,
    type: 0x4000,
    options: [Option.DATA.option(payload.subarray(0, 65_000))],
  };
  const start = performance.now();
  let sent = 0;
  const inFlight = new Set<Promise<void>>();
  while (sent < BULK_OCTETS) {
    const p: Promise<void> = session.send(message).finally(() => inFlight.delete(p));
    inFlight.add(p);
    sent += MESSAGE;
    if (inFlight.size >= IN_FLIGHT) await Promise.race(inFlight);
  }
  await Promise.all(inFlight);
  return sent / ((performance.now() - start) / 1000) / 1e6;
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
const seals: Record<AeadName, number[]> = { sodium: [], 'node-crypto': [] };
// Each round runs every mode, starting one further along, so drift on a busy machine hits all alike.
for (let round = 0; round < ROUNDS; round++) {
  for (let i = 0; i < modes.length; i++) {
    const mode = modes[(round + i) % modes.length]!;
    runs[mode].push(
      await withRemotePeer(mode, async (session) => ({
        ...(await latency(session)),
        goodputMBps: await goodput(session),
      })),
    );
  }
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
const field = (mode: Mode, key: keyof Round, digits: number) =>
  spread(
    runs[mode].map((r) => r[key]),
    digits,
  );
/** Per-round ratio of `mode` to plain (the two ran back to back), as median and range. */
const ratio = (mode: Mode, key: keyof Round) =>
  spread(
    runs[mode].map((r, i) => r[key] / (runs.plain[i]?.[key] ?? NaN)),
    2,
  );

const show = (s: Spread) => `${s.median} (${s.min}–${s.max})`;
const table = Object.fromEntries(
  modes.map((mode) => [
    mode,
    {
      'p50 µs': show(field(mode, 'p50Us', 0)),
      'p99 µs': show(field(mode, 'p99Us', 0)),
      'goodput MB/s': show(field(mode, 'goodputMBps', 1)),
    },
  ]),
);
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
      sealOpenUs: [sodiumSeal.min, sodiumSeal.max],
      nodeCryptoSecureGoodputRatio: [goodputRatioNode.min, goodputRatioNode.max],
      nodeCryptoSealOpenUs: [nodeSeal.min, nodeSeal.max],
    },
  }),
);
