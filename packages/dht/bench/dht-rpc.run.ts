// The baseline of overlay.bench.ts, in its own process: a 100-node dht-rpc (hyperswarm's Kademlia RPC layer)
// testnet on loopback, as its own tests build one (a bootstrapper, then nodes bootstrapping from it, persistent
// and not firewalled), and the latency of lookups (findNode) of random 32-octet targets. Prints one JSON line.
import { randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import DHT from 'dht-rpc';
import { latencies, MB, quantile, round, settledRss } from './support/measure.js';

const NODES = Number(process.env['BENCH_PEERS'] ?? 100);
const OPS = Number(process.env['BENCH_OPS'] ?? 2000);

const rssBefore = await settledRss();
// A bootstrapper's id comes from its host and port, so it needs its port up front: take a free one.
const port = await new Promise<number>((resolve) => {
  const probe = createSocket('udp4');
  probe.bind(0, '127.0.0.1', () => {
    const free = probe.address().port;
    probe.close(() => resolve(free));
  });
});
const bootstrapper = DHT.bootstrapper(port, '127.0.0.1', { host: '127.0.0.1' });
await bootstrapper.fullyBootstrapped();
const bootstrap = [`127.0.0.1:${bootstrapper.address().port}`];
const nodes = [bootstrapper];
const joinMs = [];
while (nodes.length < NODES) {
  const start = performance.now();
  const node = new DHT({ ephemeral: false, firewalled: false, bootstrap, host: '127.0.0.1' });
  await node.fullyBootstrapped();
  joinMs.push(performance.now() - start);
  nodes.push(node);
}
const rssPerNodeMB = ((await settledRss()) - rssBefore) / NODES / MB;

const pick = (): DHT => nodes[Math.floor(Math.random() * nodes.length)] as DHT;
await latencies(200, () => pick().findNode(randomBytes(32)).finished());
const lookupMs = await latencies(OPS, () => pick().findNode(randomBytes(32)).finished());
await Promise.all(nodes.map((n) => n.destroy()));

console.log(
  JSON.stringify({
    nodes: NODES,
    lookupP50Ms: round(quantile(lookupMs, 0.5), 3),
    lookupP99Ms: round(quantile(lookupMs, 0.99), 3),
    joinP50Ms: round(quantile(joinMs, 0.5), 1),
    rssPerNodeMB: round(rssPerNodeMB, 3),
  }),
);
