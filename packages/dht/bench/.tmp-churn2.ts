import { createTestnet } from '../src/testing/index.js';
const TIMERS = {
  keepaliveInterval: 1000,
  keepaliveMisses: 2,
  takeover: { unitMs: 300, maxMs: 1500 },
  claimTimeout: 1000,
  replicas: 2,
};
const net = await createTestnet({
  size: 60,
  network: 'memory',
  dimensions: 4,
  seed: 11,
  nodeOptions: TIMERS,
});
await net.settled({ timeoutMs: 60000 });
const mode = process.argv[2];
console.log('grown', mode);
const t0 = performance.now();
for (let r = 0; r < 3; r++) {
  const group = net.independentPeers(Number(process.argv[3] ?? 1));
  const t = performance.now();
  await Promise.all(group.map((n) => (mode === 'crash' ? net.crash(n) : net.leave(n))));
  const tiling = net.tiling().ok;
  try {
    await net.settled({ timeoutMs: 20000 });
    console.log(mode, r, 'tiling at once', tiling, 'settled ms', (performance.now() - t).toFixed(0));
  } catch (e) {
    console.log(mode, r, String(e).slice(0, 300));
  }
}
console.log('total', (performance.now() - t0).toFixed(0));
await net.close();
