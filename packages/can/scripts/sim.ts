// pnpm --filter @xpp/can sim --n N --d D [--seed S] [--join balanced|split|uniform] [--kill F] [--lookups L]
//   [--svg zones.svg] [--plot hops.svg]
// Builds an in-memory overlay with the package's geometry and prints one JSON line last (see README).
import { writeFileSync } from 'node:fs';
import { CanError, SimulatedOverlay, runSimulation, type SimulationReport } from '../src/index.js';
import { parseSimArgs, type SimArgs } from './sim-args.js';
import { hopsPlotSvg, zoneMapSvg, type HopSeries } from './svg.js';

/** Overlay sizes and dimensions of the `--plot` sweep (the n = 10 … 100k, d = 2, 3, 4, 6). */
export const PLOT_SIZES = [10, 30, 100, 300, 1_000, 3_000, 10_000, 30_000, 100_000];
export const PLOT_DIMENSIONS = [2, 3, 4, 6];
const PLOT_LOOKUPS = 2_000;

function drawZoneMap(args: SimArgs, file: string): void {
  const overlay = new SimulatedOverlay({ dimensions: 2, seed: args.seed });
  overlay.grow(args.n, args.join);
  overlay.killFraction(args.kill);
  const target = overlay.randomPoint();
  const route = overlay.route(overlay.randomPeer(), target, { path: true });
  writeFileSync(file, zoneMapSvg(overlay, route.path ?? [], target));
  console.log(`wrote ${file}: ${overlay.zoneCount} zones, a route of ${route.hops} hops`);
}

function drawHopsPlot(args: SimArgs, file: string): void {
  const series: HopSeries[] = PLOT_DIMENSIONS.map((d) => ({
    d,
    points: PLOT_SIZES.map((n) => {
      const report = runSimulation({ n, d, seed: args.seed, join: args.join, lookups: PLOT_LOOKUPS });
      console.log(`plot: d=${d} n=${n} meanHops=${report.meanHops} (formula ${report.canFormula})`);
      return { n, meanHops: report.meanHops };
    }),
  }));
  writeFileSync(file, hopsPlotSvg(series, `Mean greedy hops, ${args.join} joins, against (d/4)·n^(1/d)`));
  console.log(`wrote ${file}`);
}

export function main(argv: readonly string[]): SimulationReport {
  const args = parseSimArgs(argv);
  if (args.svg !== undefined) drawZoneMap(args, args.svg);
  if (args.plot !== undefined) drawHopsPlot(args, args.plot);
  const report = runSimulation(args);
  console.log(JSON.stringify(report));
  return report;
}

try {
  main(process.argv.slice(2));
} catch (error) {
  if (!CanError.is(error) && !(error instanceof TypeError)) throw error;
  console.error(`sim: ${error.message}`);
  process.exitCode = 2;
}
