// The long run of the hostile-input property (the test suite runs 3,000 cases): by default 100,000 mutated
// golden-vector messages and random byte strings through every decoder. `XPP_FUZZ_RUNS=N` changes the count.
import fc from 'fast-check';
import { decodeEverything, hostileBytesArb } from '../test/support/hostile.js';

const numRuns = Number(process.env['XPP_FUZZ_RUNS'] ?? 100_000);
const started = performance.now();
fc.assert(
  fc.property(hostileBytesArb, (bytes) => decodeEverything(bytes) === undefined),
  { numRuns },
);
const seconds = (performance.now() - started) / 1000;
console.log(JSON.stringify({ cases: numRuns, failures: 0, seconds: Number(seconds.toFixed(1)) }));
