// Encode + decode of a typical XPP message (12-octet header + 4 options, 100 octets), against
// compact-encoding (hyperswarm's codec) and JSON, interleaved round by round in this one process (bench/rounds.ts)
// so the ratios hold on a shared machine. Figures are medians over rounds with their spread; ratios are taken
// per round. The last line printed is one JSON object of the figures.
// BENCH_ROUNDS (default 11), BENCH_ROUND_MS (CPU ms per task per round, default 150), BENCH_WARMUP_MS (400).
import { loadavg } from 'node:os';
import c from 'compact-encoding';
import { decodeMessage, encodeMessage } from '../src/index.js';
import { asJson, message, messageStruct } from './fixtures.js';
import { ratios, runRounds, spread, type Spread, type TaskRounds } from './rounds.js';

let sink = 0;
const tasks = [
  {
    name: 'xpp encode+decode',
    run: () => {
      sink += decodeMessage(encodeMessage(message)).options.length;
    },
  },
  {
    name: 'compact-encoding encode+decode',
    run: () => {
      sink += c.decode(messageStruct, c.encode(messageStruct, message)).options.length;
    },
  },
  {
    name: 'JSON stringify+parse',
    run: () => {
      const parsed = JSON.parse(Buffer.from(JSON.stringify(asJson)).toString()) as typeof asJson;
      sink += parsed.options.map((o) => Buffer.from(o.value, 'base64')).length;
    },
  },
];

const rounds = Number(process.env['BENCH_ROUNDS'] ?? 11);
const [ours, compact, json] = runRounds(tasks, {
  rounds,
  roundMs: Number(process.env['BENCH_ROUND_MS'] ?? 150),
  warmupMs: Number(process.env['BENCH_WARMUP_MS'] ?? 400),
}) as [TaskRounds, TaskRounds, TaskRounds];

// BENCH_VERBOSE=1: every round's figures (thousands of ops per CPU second, then per wall second)
if (process.env['BENCH_VERBOSE']) {
  const k = (xs: readonly number[]): string => xs.map((x) => Math.round(x / 1000)).join(' ');
  for (const t of [ours, compact, json])
    console.log(`${t.name}: ${k(t.cpuOpsPerSec)} | wall ${k(t.wallOpsPerSec)}`);
}
const show = (s: Spread, unit = ''): string =>
  `${s.median}${unit} (IQR ${s.q1}–${s.q3}, range ${s.min}–${s.max})`;
for (const t of [ours, compact, json]) {
  console.log(
    `${t.name}: ${t.iterations} per round, ops/CPU-s ${show(spread(t.cpuOpsPerSec, 0))}, ops/wall-s ${show(spread(t.wallOpsPerSec, 0))}`,
  );
}
const ratioCompact = spread(ratios(ours.cpuOpsPerSec, compact.cpuOpsPerSec), 2);
const ratioCompactWall = spread(ratios(ours.wallOpsPerSec, compact.wallOpsPerSec), 2);
const ratioJson = spread(ratios(ours.cpuOpsPerSec, json.cpuOpsPerSec), 2);
console.log(`ratio to compact-encoding (CPU time): ${show(ratioCompact, '×')}`);
console.log(`ratio to compact-encoding (wall time): ${show(ratioCompactWall, '×')}`);
console.log(`ratio to JSON (CPU time): ${show(ratioJson, '×')}`);
console.log(
  `message size: ${encodeMessage(message).length} octets (compact-encoding: ${c.encode(messageStruct, message).length})`,
);
if (sink === 0) console.log('(sink)');
console.log(
  JSON.stringify({
    loadAverage: loadavg().map((x) => Number(x.toFixed(2))),
    rounds,
    opsPerSec: Math.round(spread(ours.cpuOpsPerSec, 0).median),
    ratioCompactEncoding: ratioCompact.median,
    ratioCompactEncodingIqr: [ratioCompact.q1, ratioCompact.q3],
    ratioCompactEncodingRange: [ratioCompact.min, ratioCompact.max],
    ratioCompactEncodingWall: ratioCompactWall.median,
    ratioCompactEncodingWallRange: [ratioCompactWall.min, ratioCompactWall.max],
    ratioJson: ratioJson.median,
    ratioJsonRange: [ratioJson.min, ratioJson.max],
  }),
);
