// `pnpm --filter @xpp/dht sim [peers] [records]`: grows an XPP-PCAN overlay of `peers` (default 10,000) on the
// in-memory network — the same OverlayNode code as over UDP — then PUTs and GETs `records` (default 10,000) from
// random peers. A benchmark, not a test: it reports the time of each stage, hops and RSS; the last line printed is
// one JSON object of the figures.
import { createTestnet, workloadRecord, type WorkloadRecord } from '../src/testing/index.js';
import { keepProcessAlive, latencies, MB, quantile, round, settledRss } from './support/measure.js';

const PEERS = Number(process.argv[2] ?? 10_000);
const RECORDS = Number(process.argv[3] ?? 10_000);
const D = 4;
const REPORT_EVERY = PEERS >= 5000 ? 1000 : 100;

const release = keepProcessAlive();
const rssBefore = await settledRss();
const started = performance.now();
// Background maintenance of every peer runs in this one process: with the deployed defaults (a full announcement
// every 30 s, keepalives after 15 s idle) 10,000 peers would send ~3,300 NEIGHBOUR-UPDATEs and ~3,300 keepalives a
// second, more than a core can seal and open, and even at a 5-min refresh and 60-s keepalives that load grows with
// the overlay until it takes most of the core (the 2026-11-25 run slowed from 124 s to 535 s per 1,000 joins). The
// run stretches both timers to 30 min; joins, routing and storage are as deployed, and nothing crashes here.
const QUIET = { refreshInterval: 1_800_000, keepaliveInterval: 1_800_000 };
const net = await createTestnet({ size: 1, network: 'memory', dimensions: D, seed: 41, nodeOptions: QUIET });
let lap = performance.now();
// A join that fails after the testnet's retries (a loaded machine can time a session out) is counted, not fatal.
let failedJoins = 0;
while (net.size < PEERS) {
  try {
    await net.add();
  } catch (error) {
    if (++failedJoins > PEERS / 100) throw error;
    continue;
  }
  if (net.size % REPORT_EVERY === 0) {
    const now = performance.now();
    const rss = process.memoryUsage().rss / MB;
    console.log(
      `${net.size} peers, last 1,000 joins ${round((now - lap) / 1000, 1)} s, RSS ${Math.round(rss)} MB`,
    );
    lap = now;
  }
}
const growMs = performance.now() - started;
if (!net.tiling().ok) throw new Error('the overlay does not tile the space');
const rssPerPeerMB = ((await settledRss()) - rssBefore) / PEERS / MB;

const hopsBefore = net.nodes.reduce((sum, n) => sum + (n.stats.operations['ROUTE ok'] ?? 0), 0);
const records = Array.from({ length: RECORDS }, (_, i) => workloadRecord(i));
const record = (i: number) => records[i] as WorkloadRecord;
const putMs = await latencies(RECORDS, (i) =>
  net.randomNode().put(record(i).key, record(i).kind, record(i).value, 600),
);
const getMs = await latencies(RECORDS, async (i) => {
  const found = await net.randomNode().get(record(i).key, record(i).kind);
  if (found.length !== 1) throw new Error(`GET ${record(i).key} found ${found.length} records`);
});
const hops =
  (net.nodes.reduce((sum, n) => sum + (n.stats.operations['ROUTE ok'] ?? 0), 0) - hopsBefore) / (2 * RECORDS);
const totalMs = performance.now() - started;
await net.close();
release();

console.log(
  JSON.stringify({
    peers: PEERS,
    records: RECORDS,
    failedJoins,
    failedInvitations: net.failedInvitations,
    growS: round(growMs / 1000, 1),
    joinMeanMs: round(growMs / PEERS, 1),
    putP50Ms: round(quantile(putMs, 0.5), 3),
    getP50Ms: round(quantile(getMs, 0.5), 3),
    getP99Ms: round(quantile(getMs, 0.99), 3),
    meanHops: round(hops),
    expectedHops: round((D / 4) * PEERS ** (1 / D)),
    totalS: round(totalMs / 1000, 1),
    rssPerPeerMB: round(rssPerPeerMB, 3),
    peakRssMB: Math.round(process.resourceUsage().maxRSS / 1024),
  }),
);
