// `node --import tsx bench/setup-only.ts`: the authenticated-setup part of the endpoint bench alone (quick to rerun
// on a quiet machine). BENCH_ROUNDS rounds (default 7) of 30 setups of each kind; last line one JSON object.
import { measureSetups } from './setup-auth.js';

const rounds = Number(process.env['BENCH_ROUNDS'] ?? 7);
const results = await measureSetups(rounds, 30);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
const ratios = results.map((r) => r.ms.auth / r.ms.plain);
const cpuRatios = results.map((r) => r.cpuMs.auth / r.cpuMs.plain);
const certRatios = results.map((r) => r.ms.cert / r.ms.plain);
const round2 = (x: number) => Number(x.toFixed(2));
console.log(
  JSON.stringify({
    setupMs: round2(median(results.map((r) => r.ms.plain))),
    authSetupMs: round2(median(results.map((r) => r.ms.auth))),
    authSetupRatio: round2(median(ratios)),
    authSetupRatioRange: [round2(Math.min(...ratios)), round2(Math.max(...ratios))],
    certSetupRatio: round2(median(certRatios)),
    authSetupCpuRatio: round2(median(cpuRatios)),
  }),
);
process.exit(0);
