// Next-hop decisions per second with 8 and 16 neighbours, against a naive baseline measured in this same run,
// and the simulator's build + route time at 10k and 100k peers. The last line printed is one JSON object.
import { Bench } from 'tinybench';
import {
  SimulatedOverlay,
  nextHop,
  runSimulation,
  type NeighbourZone,
  type Point,
  type Zone,
} from '../src/index.js';

const TWO_32 = 2n ** 32n;

/**
 * The baseline: what a first implementation does — bounds from the split path on every call, bigint
 * arithmetic for the exact distance.
 */
function naiveNextHop(
  target: Point,
  mine: string,
  neighbours: readonly { id: number; path: string }[],
  d: number,
) {
  const distance = (path: string): bigint => {
    const low = new Array<bigint>(d).fill(0n);
    const span = new Array<bigint>(d).fill(TWO_32);
    for (let i = 0; i < path.length; i++) {
      const k = i % d;
      span[k] = span[k]! / 2n;
      if (path[i] === '1') low[k] = low[k]! + span[k]!;
    }
    let sum = 0n;
    for (let k = 0; k < d; k++) {
      const p = BigInt(target[k]!);
      const offset = (((p - low[k]!) % TWO_32) + TWO_32) % TWO_32;
      if (offset < span[k]!) continue;
      const down = offset - span[k]! + 1n;
      const up = TWO_32 - offset;
      const x = down < up ? down : up;
      sum += x * x;
    }
    return sum;
  };
  const own = distance(mine);
  if (own === 0n) return { kind: 'mine' as const };
  let best: { id: number; distance: bigint } | undefined;
  for (const n of neighbours) {
    const dist = distance(n.path);
    if (
      dist < own &&
      (best === undefined || dist < best.distance || (dist === best.distance && n.id < best.id))
    ) {
      best = { id: n.id, distance: dist };
    }
  }
  return best === undefined ? { kind: 'dead-end' as const } : { kind: 'forward' as const, id: best.id };
}

// Real neighbourhoods: peers of a 10k-peer, d = 4 overlay with exactly 8 and exactly 16 neighbour zones.
const overlay = new SimulatedOverlay({ dimensions: 4, seed: 42 });
overlay.grow(10_000, 'uniform');
const table = overlay.zoneTable();
function neighbourhood(size: number): { mine: Zone; neighbours: NeighbourZone<number>[] } {
  const entry = table.find((e) => e.neighbours.length === size);
  if (entry === undefined) throw new Error(`no zone with ${size} neighbours`);
  const owners = new Map(table.map((e) => [e.zone.path, e.owner]));
  return {
    mine: entry.zone,
    neighbours: entry.neighbours.map((zone) => ({ id: owners.get(zone.path)!, zone })),
  };
}
const targets: Point[] = Array.from({ length: 1024 }, () => overlay.randomPoint());

let sink = 0;
const bench = new Bench({ time: Number(process.env['BENCH_TIME_MS'] ?? 1000), warmupTime: 200 });
for (const size of [8, 16]) {
  const { mine, neighbours } = neighbourhood(size);
  const naive = neighbours.map((n) => ({ id: n.id, path: n.zone.path }));
  let i = 0;
  bench
    .add(`nextHop, ${size} neighbours`, () => {
      const decision = nextHop(targets[i++ & 1023]!, mine, neighbours);
      if (decision.kind === 'forward') sink += decision.next.id;
    })
    .add(`naive, ${size} neighbours`, () => {
      const decision = naiveNextHop(targets[i++ & 1023]!, mine.path, naive, 4);
      if (decision.kind === 'forward') sink += decision.id;
    });
  // Both must decide the same, or the comparison means nothing.
  for (const target of targets) {
    const ours = nextHop(target, mine, neighbours);
    const theirs = naiveNextHop(target, mine.path, naive, 4);
    const same =
      ours.kind === theirs.kind &&
      (ours.kind !== 'forward' || (theirs.kind === 'forward' && ours.next.id === theirs.id));
    if (!same) throw new Error(`nextHop and the baseline disagree on ${JSON.stringify(target)}`);
  }
}
await bench.run();
console.table(bench.table());

function opsPerSec(name: string): number {
  const result = bench.getTask(name)?.result;
  if (result?.state !== 'completed') throw new Error(`benchmark ${name} did not complete`);
  return result.throughput.mean;
}

const sims = [10_000, 100_000].map((n) => {
  globalThis.gc?.();
  const report = runSimulation({ n, d: 4, join: 'uniform', seed: 1, lookups: 10_000 });
  const rssMB = Math.round(process.memoryUsage().rss / 1e6);
  console.log(
    `sim n=${n} d=4: build ${report.buildMs} ms, 10k lookups ${report.routeMs} ms, mean hops ${report.meanHops}, rss ${rssMB} MB`,
  );
  return { n, buildMs: report.buildMs, routeMs: report.routeMs, rssMB, meanHops: report.meanHops };
});
if (sink === 0) console.log('(sink)');

const hop8 = opsPerSec('nextHop, 8 neighbours');
const hop16 = opsPerSec('nextHop, 16 neighbours');
console.log(
  JSON.stringify({
    nextHop8PerSec: Math.round(hop8),
    nextHop16PerSec: Math.round(hop16),
    ratioNaive8: Number((hop8 / opsPerSec('naive, 8 neighbours')).toFixed(2)),
    ratioNaive16: Number((hop16 / opsPerSec('naive, 16 neighbours')).toFixed(2)),
    sim10kBuildMs: sims[0]!.buildMs,
    sim10kRouteMs: sims[0]!.routeMs,
    sim100kBuildMs: sims[1]!.buildMs,
    sim100kRouteMs: sims[1]!.routeMs,
    sim100kTotalMs: sims[1]!.buildMs + sims[1]!.routeMs,
    sim100kRssMB: sims[1]!.rssMB,
  }),
);
