import { createTestnet } from '../src/testing/index.js';
const N = Number(process.argv[2] ?? 300);
const net = await createTestnet({ size: N, network: 'memory', dimensions: 4, seed: 41 });
await net.settled({ timeoutMs: 60000 });
const ops = () => { const m: Record<string, number> = {}; for (const n of net.nodes) for (const [k, v] of Object.entries(n.stats.operations)) m[k] = (m[k] ?? 0) + v; return m; };
(globalThis as any).NUC = {};
const o0 = ops(); const t0 = net.traffic(); const s = performance.now();
const J = 50;
for (let i = 0; i < J; i++) await net.add();
await net.settled({ timeoutMs: 60000 });
const ms = performance.now() - s;
const o1 = ops(); const t1 = net.traffic();
const d: Record<string, number> = {}; for (const k of Object.keys(o1)) { const v = (o1[k]! - (o0[k] ?? 0)) / J; if (v > 0.05) d[k] = Math.round(v * 10) / 10; }
console.log(JSON.stringify({ msPerJoin: ms / J, datagramsPerJoin: (t1.sent - t0.sent) / J, opsPerJoin: d }));
await net.close();
console.log(JSON.stringify((globalThis as any).NUC));
