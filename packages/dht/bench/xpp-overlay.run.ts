// One contender of overlay.bench.ts, in its own process (so its RSS is its own): a 100-peer XPP-PCAN overlay over
// real UDP on loopback, grown by invitations. Prints one JSON line of figures.
import { peerRecordCodec, RecordKind } from '../src/index.js';
import { createTestnet, waitFor } from '../src/testing/index.js';
import { latencies, MB, quantile, round, settledRss } from './support/measure.js';

const PEERS = Number(process.env['BENCH_PEERS'] ?? 100);
const JOINS = Number(process.env['BENCH_JOINS'] ?? 20);
const OPS = Number(process.env['BENCH_OPS'] ?? 2000);

const rssBefore = await settledRss();
const net = await createTestnet({ size: PEERS - JOINS, network: 'udp', dimensions: 4, seed: 31 });

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

const value = peerRecordCodec.encode({
  peerId: Uint8Array.of(1, 2, 3, 4),
  contact: { uri: 'sip:alice@192.0.2.10:5060', candidates: [] },
});
const key = (i: number) => `sip:user${i}@example.org`;
// Warm up every session's first-use paths, then measure.
await latencies(200, (i) => net.randomNode().put(key(OPS + i), RecordKind.PEER, value, 600));
const putMs = await latencies(OPS, (i) => net.randomNode().put(key(i), RecordKind.PEER, value, 600));
const getMs = await latencies(OPS, async (i) => {
  const found = await net.randomNode().get(key(i), RecordKind.PEER);
  if (found.length !== 1) throw new Error(`GET ${key(i)} found ${found.length} records`);
});
const hops = net.nodes.reduce((sum, n) => sum + (n.stats.operations['ROUTE ok'] ?? 0), 0) / (2 * OPS + 200);
await net.close();

console.log(
  JSON.stringify({
    nodes: PEERS,
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
