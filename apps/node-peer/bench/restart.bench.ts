// `node --import tsx bench/restart.bench.ts` (issue #18 Benchmarks): restart-to-serving time of one `xpp-node` peer
// holding 100,000 records in its data directory. The peer is founded (`start`), stopped, its records.db filled with
// bindings up to BENCH_RECORDS records, then started BENCH_ROUNDS times: the time from spawn to `/healthz` 200, and
// the store's own open (integrity check + load) from its log line. Last line: one JSON object.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { bindingCodec, RecordKind } from '@xpp/dht';
import { systemClock } from '@xpp/reliability';
import { SqliteRecordStore } from '../src/store/sqlite-record-store.js';
import { NodeProcess } from '../test/support/node-process.js';

const RECORDS = Number(process.env['BENCH_RECORDS'] ?? 100_000);
const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 3);

const base = mkdtempSync(join(tmpdir(), 'xpp-bench-restart-'));
const dataDir = join(base, 'peer');
const config = join(base, 'node.json');
writeFileSync(config, JSON.stringify({ dimensions: 2 }));
const args = ['start', '--data-dir', dataDir, '--config', config, '--sip-port', '0', '--xpp-port', '0'];

/** Spawns the peer and resolves once it serves: ms from spawn to /healthz 200, and the store's open report. */
async function serve(): Promise<{ p: NodeProcess; ms: number; storeMs: number; records: number }> {
  const started = performance.now();
  const p = new NodeProcess([...args, '--http-port', '0']);
  const { http } = await p.ports();
  await p.healthy(http);
  const ms = performance.now() - started;
  const opened = p.logs().find((l) => l['msg'] === 'record store opened') ?? {};
  return { p, ms, storeMs: Number(opened['ms']), records: Number(opened['records']) };
}

async function stop(p: NodeProcess): Promise<void> {
  p.child.kill('SIGTERM');
  await p.exited;
}

console.log(
  `Node ${process.version}, load ${loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')}`,
);
const empty = await serve();
await stop(empty.p);
console.log(`empty peer: serving ${empty.ms.toFixed(0)} ms after spawn`);

// Filled while the peer is down, as its own records would be: bindings of a one-peer overlay (it owns every point).
const store = SqliteRecordStore.open({ file: join(dataDir, 'records.db'), clock: systemClock });
const held = store.stats.records;
for (let i = 0; i < RECORDS - held; i++) {
  store.put({
    key: `sip:load${i}@localhost`,
    kind: RecordKind.BINDING,
    value: bindingCodec.encode({
      instanceId: `urn:uuid:00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
      regId: 1,
      contact: `sip:load${i}@192.0.2.1:5060;transport=udp`,
      flowPeer: Uint8Array.of(1),
    }),
    lifetime: 86_400,
  });
}
store.close();

const runs: { ms: number; storeMs: number; records: number; rssMb: number }[] = [];
for (let round = 0; round < ROUNDS; round++) {
  const run = await serve();
  const rssMb =
    Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${run.p.child.pid}/status`, 'utf8'))?.[1]) / 1024;
  await stop(run.p);
  console.log(
    `round ${round + 1}: ${run.records} records loaded in ${run.storeMs} ms, serving ${run.ms.toFixed(0)} ms after ` +
      `spawn, RSS ${rssMb.toFixed(0)} MB, load ${loadavg()[0]!.toFixed(1)}`,
  );
  runs.push({ ...run, rssMb });
}
const median = (v: number[]) => [...v].sort((a, b) => a - b)[v.length >> 1]!;
console.log(
  JSON.stringify({
    records: runs[0]!.records,
    rounds: ROUNDS,
    emptyServingMs: Math.round(empty.ms),
    servingMs: Math.round(median(runs.map((r) => r.ms))),
    servingMsRange: [
      Math.round(Math.min(...runs.map((r) => r.ms))),
      Math.round(Math.max(...runs.map((r) => r.ms))),
    ],
    storeOpenMs: median(runs.map((r) => r.storeMs)),
    rssMb: Math.round(median(runs.map((r) => r.rssMb))),
    loadAverage: Number(loadavg()[0]!.toFixed(1)),
  }),
);
