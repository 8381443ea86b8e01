// One contender of overlay.bench.ts, in its own process (so its RSS is its own): a 100-peer XPP-PCAN overlay over
// real UDP on loopback, grown by invitations. Prints one JSON line of figures.
import { createTestnet, waitFor, workloadRecord, type WorkloadRecord } from '../src/testing/index.js';
import { latencies, MB, quantile, round, settledRss } from './support/measure.js';

const PEERS = Number(process.env['BENCH_PEERS'] ?? 100);
const JOINS = Number(process.env['BENCH_JOINS'] ?? 20);
const OPS = Number(process.env['BENCH_OPS'] ?? 2000);
/** Certified membership (every session authenticated by certificate, spec §5.5); `0` runs the overlay without. */
const CERTIFIED = process.env['BENCH_CERTIFIED'] !== '0';

const rssBefore = await settledRss();
const net = await createTestnet({
  size: PEERS - JOINS,
  network: 'udp',
  dimensions: 4,
  seed: 31,
  certified: CERTIFIED,
});

// Invite-to-serving: from invite() until the newcomer and all its neighbours have their sessions up.
const joinMs = [];
for (let i = 0; i < JOINS; i++) {
  const start = performance.now();
  const newcomer = await net.add();
  await waitFor(() => net.isServing(newcomer), {
    intervalMs: 0,
    timeoutMs: 30_000,
    what: 'the newcomer to serve',
  });
  joinMs.push(performance.now() - start);
}
await net.settled();
const rssPerNodeMB = ((await settledRss()) - rssBefore) / PEERS / MB;

// Records made before the clock runs; warm up every session's first-use paths, then measure.
const records = Array.from({ length: OPS + 200 }, (_, i) => workloadRecord(i));
const put = (r: WorkloadRecord) => net.randomNode().put(r.key, r.kind, r.value, 600);
const record = (i: number) => records[i] as WorkloadRecord;
await latencies(200, (i) => put(record(OPS + i)));
const putMs = await latencies(OPS, (i) => put(record(i)));
const getMs = await latencies(OPS, async (i) => {
  const found = await net.randomNode().get(record(i).key, record(i).kind);
  if (found.length !== 1) throw new Error(`GET ${record(i).key} found ${found.length} records`);
});
const hops = net.nodes.reduce((sum, n) => sum + (n.stats.operations['ROUTE ok'] ?? 0), 0) / (2 * OPS + 200);
await net.close();

console.log(
  JSON.stringify({
    nodes: PEERS,
    certified: CERTIFIED,
    getP50Ms: round(quantile(getMs, 0.5), 3),
    getP99Ms: round(quantile(getMs, 0.99), 3),
    putP50Ms: round(quantile(putMs, 0.5), 3),
    putP99Ms: round(quantile(putMs, 0.99), 3),
    joinP50Ms: round(quantile(joinMs, 0.5), 1),
    joinP99Ms: round(quantile(joinMs, 0.99), 1),
    meanHops: round(hops),
    rssPerNodeMB: round(rssPerNodeMB, 3),
  }),
);
