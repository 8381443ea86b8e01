// The long run of the hostile-input properties (the test suite runs a few thousand cases): by default
// 100,000 cases of each. `XPP_FUZZ_RUNS=N` changes the count.
import fc from 'fast-check';
import { decodeEverything, hostileBytesArb, parseEverything } from '../test/arbitraries.js';

const numRuns = Number(process.env['XPP_FUZZ_RUNS'] ?? 100_000);
const started = performance.now();
fc.assert(
  fc.property(hostileBytesArb, (bytes) => decodeEverything(bytes) === undefined),
  { numRuns },
);
fc.assert(
  fc.property(fc.oneof(fc.string(), fc.json()), (text) => parseEverything(text) === undefined),
  { numRuns },
);
const seconds = (performance.now() - started) / 1000;
console.log(
  JSON.stringify({
    bytesCases: numRuns,
    textCases: numRuns,
    failures: 0,
    seconds: Number(seconds.toFixed(1)),
  }),
);
