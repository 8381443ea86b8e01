// Where a peer's memory goes (issue #16's RSS target): grows a UDP loopback overlay of BENCH_PEERS peers in this
// process, certified or not (BENCH_CERTIFIED=0), and prints one JSON line of the process's memory growth split by
// kind — V8 heap, external (Buffers and other memory V8 is told of), the ArrayBuffers within it, and native memory
// (RSS minus heap and external: OpenSSL, libsodium, libuv, allocator slack). Run it at several sizes: the slope per
// peer is the figure, not one absolute. BENCH_HEAP_SNAPSHOT=<file> also writes a heap snapshot once settled.
import { getHeapSpaceStatistics, writeHeapSnapshot } from 'node:v8';
import { createTestnet } from '../src/testing/index.js';
import { MB, round, settledRss } from './support/measure.js';

const PEERS = Number(process.env['BENCH_PEERS'] ?? 100);
const CERTIFIED = process.env['BENCH_CERTIFIED'] !== '0';
const SNAPSHOT = process.env['BENCH_HEAP_SNAPSHOT'];
const QUIET_MS = Number(process.env['BENCH_QUIET_MS'] ?? 0);

interface Usage {
  rss: number;
  heapUsed: number;
  heapTotal: number;
  external: number;
  arrayBuffers: number;
}

async function usage(): Promise<Usage> {
  const rss = await settledRss();
  const { heapUsed, heapTotal, external, arrayBuffers } = process.memoryUsage();
  return { rss, heapUsed, heapTotal, external, arrayBuffers };
}

const before = await usage();
const spacesBefore = Object.fromEntries(getHeapSpaceStatistics().map((s) => [s.space_name, s.space_size]));
const net = await createTestnet({
  size: PEERS,
  network: 'udp',
  dimensions: 4,
  seed: 31,
  certified: CERTIFIED,
});
await net.settled();
// BENCH_QUIET_MS: wait this long before measuring, e.g. 40000 for the SIP transactions of the joins to end (Timers
// J and L: 64·T1 = 32 s) — what a peer holds for good rather than what it holds just after joining (the bench's).
if (QUIET_MS > 0) await new Promise((resolve) => setTimeout(resolve, QUIET_MS));
const after = await usage();
// Read with `after`, before anything is closed: each space's committed size then (what RSS holds of the heap).
const spacesAfter = getHeapSpaceStatistics();
const sessions = net.nodes.reduce((sum, n) => sum + n.endpoint.stats.sessions, 0);
const neighbours = net.nodes.reduce((sum, n) => sum + n.stats.neighbours, 0);
if (SNAPSHOT !== undefined) writeHeapSnapshot(SNAPSHOT);
await net.close();

/** Committed size of each V8 heap space, KB per peer of growth. */
const spaces = Object.fromEntries(
  spacesAfter.map((s) => [
    s.space_name,
    round((s.space_size - (spacesBefore[s.space_name] ?? 0)) / PEERS / 1024, 1),
  ]),
);
/** Committed size of the young generation after the run, MB in all: a per-process cost the peers share. */
const newSpaceMB = round((spacesAfter.find((s) => s.space_name === 'new_space')?.space_size ?? 0) / MB, 1);
const kb = (key: keyof Usage): number => round((after[key] - before[key]) / PEERS / 1024, 1);
const native = (u: Usage): number => u.rss - u.heapTotal - u.external;
console.log(
  JSON.stringify({
    peers: PEERS,
    certified: CERTIFIED,
    quietMs: QUIET_MS,
    rssPerPeerMB: round((after.rss - before.rss) / PEERS / MB, 3),
    rssKB: kb('rss'),
    heapUsedKB: kb('heapUsed'),
    heapTotalKB: kb('heapTotal'),
    externalKB: kb('external'),
    arrayBuffersKB: kb('arrayBuffers'),
    nativeKB: round((native(after) - native(before)) / PEERS / 1024, 1),
    sessionsPerPeer: round(sessions / PEERS, 1),
    neighboursPerPeer: round(neighbours / PEERS, 1),
    spaces,
    newSpaceMB,
  }),
);
