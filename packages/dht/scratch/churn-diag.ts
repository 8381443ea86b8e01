import { createTestnet, workloadRecord } from '../src/testing/index.js';
import { RecordKind, type OverlayNode } from '../src/index.js';
const PEERS = Number(process.argv[2] ?? 400);
const TIMERS = { keepaliveInterval: 5000, keepaliveMisses: 2, takeover: { unitMs: 300, maxMs: 1500 }, claimTimeout: 1000, replicas: 2 };
const net = await createTestnet({ size: PEERS, network: 'memory', dimensions: 4, seed: 11, nodeOptions: TIMERS });
const log: string[] = [];
const t0 = performance.now();
(globalThis as any).XLOG = (x: string) => log.push(`${((performance.now() - t0) / 1000).toFixed(2)} ${x}`);
const watch = (n: OverlayNode) => {
  const id = n.id.slice(0, 6);
  const at = () => ((performance.now() - t0) / 1000).toFixed(2);
  n.on('zone-change', (e) => log.push(`${at()} ${id} zones ${e.previous.map((z) => z.path).join(',')} -> ${e.zones.map((z) => z.path).join(',')} (${e.cause})`));
  n.on('takeover', (e) => log.push(`${at()} ${id} took ${e.zone.path} of ${e.deadPeer.slice(0, 6)}`));
  n.on('neighbour-down', (e) => log.push(`${at()} ${id} down ${e.id.slice(0, 6)} ${e.reason}`));
  n.on('neighbour-up', (e) => log.push(`${at()} ${id} up ${e.id.slice(0, 6)}`));
  n.on('leave', (e) => log.push(`${at()} ${id} leave peer=${e.peer.slice(0, 6)} taker=${e.taker.slice(0, 6)} zones=${e.zones.map((z) => z.path)} departed=${e.departed}`));
};
net.nodes.forEach(watch);
await net.settled({ timeoutMs: 60000 });
for (let i = 0; i < 300; i++) await net.randomNode().put(workloadRecord(i).key, RecordKind.PEER, workloadRecord(i).value, 600);
const crashes = Math.min(40, Math.round((PEERS * 0.3) / 2));
const leaves = Math.round(PEERS * 0.3) - crashes;
const report = (what: string) => {
  const t = net.tiling();
  console.log(what, t.ok, t.overlaps, net.unsettled({ pendingWork: false }));
  const zones = net.nodes.flatMap((n) => n.zones.map((z) => ({ id: n.id.slice(0, 6), path: z.path }))).sort((a, b) => (a.path < b.path ? -1 : 1));
  const ov: string[] = [];
  for (let i = 1; i < zones.length; i++) if (zones[i]!.path.startsWith(zones[i - 1]!.path)) { console.log('overlap', zones[i - 1], zones[i]); ov.push(zones[i - 1]!.id, zones[i]!.id); }
  const m2 = /(\w{32}) has no session to (\w{32})/.exec(net.unsettled({ pendingWork: false }) ?? '');
  if (m2 !== null) {
    for (const id of [m2[1], m2[2]]) {
      const node = net.nodes.find((n) => n.id === id);
      console.log('node', id, node === undefined ? 'not live' : JSON.stringify({ zones: node.zones.map((z) => z.path), nb: node.neighbours().map((n) => `${n.id.slice(0, 6)}:${n.linked}`), refused: node.stats.refused }));
    }
    console.log(log.filter((l) => l.includes(m2[1]!.slice(0, 6)) || l.includes(m2[2]!.slice(0, 6))).slice(-40).join('\n'));
  }
  const from = log.findIndex((l) => l.startsWith('--- crash'));
  console.log(log.slice(Math.max(0, from)).filter((l) => l.startsWith('crash') || l.startsWith('---') || ov.some((i) => l.includes(i))).join('\n'));
  const ids = new Set<string>();
  for (const n of net.nodes) if (!n.stats.settled) ids.add(n.id.slice(0, 6));
  console.log('unsettled nodes', [...ids].slice(0, 10));
  const m = /(\w{32}) lists (\w{32})|(\w{32}) misses its neighbour (\w{32})/.exec(net.unsettled({ pendingWork: false }) ?? '');
  const ids2 = m === null ? [] : [m[1] ?? m[3], m[2] ?? m[4]].map((x) => x!.slice(0, 6));
  console.log(log.filter((l) => ids2.some((i) => l.includes(i))).join('\n'));
};
let round = 0;
try {
  for (let left = 0; left < leaves; round++) {
    const group = net.independentPeers(leaves - left);
    log.push(`--- leave round ${round}: ${group.map((n) => n.id.slice(0, 6)).join(' ')}`);
    await Promise.all(group.map((node) => net.leave(node)));
    left += group.length;
    const poll = setInterval(() => console.log('  unsettled', ((performance.now() - t0) / 1000).toFixed(1), net.unsettled({ pendingWork: false })), 2000);
    await net.settled({ timeoutMs: Number(process.env.RT ?? 20000), pendingWork: false }).finally(() => clearInterval(poll));
    console.log('leave round', round, group.length, ((performance.now() - t0) / 1000).toFixed(1));
  }
  for (let crashed = 0; crashed < crashes; round++) {
    const group = net.independentPeers(crashes - crashed);
    log.push(`--- crash round ${round}: ${group.map((n) => n.id.slice(0, 6)).join(' ')}`);
    group.forEach((n) => log.push(`crash ${n.id.slice(0, 6)} zones ${n.zones.map((z) => z.path)}`));
    await Promise.all(group.map((node) => net.crash(node)));
    crashed += group.length;
    await net.settled({ timeoutMs: Number(process.env.RT ?? 20000), pendingWork: false });
    console.log('crash round', round, group.length, ((performance.now() - t0) / 1000).toFixed(1));
  }
  console.log('OK');
} catch (e) {
  console.log('FAILED', (e as Error).message);
  report('at failure');
}
await net.close();
process.exit(0);
