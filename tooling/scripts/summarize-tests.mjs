#!/usr/bin/env node
// Sums the vitest JSON reports of every workspace package into the one closing line CI reads:
// `N passed, N failed`. Extra checks (lint, typecheck, release dry run) come as `--check name=0|1`
// and count as one test each, so a red check can never hide behind green tests.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));
let passed = 0;
let failed = 0;
let skipped = 0;

for (const group of ['packages', 'apps', 'tooling']) {
  const dir = join(root, group);
  if (!existsSync(dir)) continue;
  for (const name of readdirSync(dir)) {
    const manifestPath = join(dir, name, 'package.json');
    if (!existsSync(manifestPath)) continue;
    const manifest = JSON.parse(readFileSync(manifestPath, 'utf8'));
    if (!manifest.scripts?.test) continue;
    const reportPath = join(dir, name, 'test-results', 'vitest.json');
    if (!existsSync(reportPath)) {
      console.log(`summary: ${group}/${name} has no test report (it did not run or crashed)`);
      failed += 1;
      continue;
    }
    const report = JSON.parse(readFileSync(reportPath, 'utf8'));
    passed += report.numPassedTests;
    failed += report.numFailedTests;
    skipped += report.numPendingTests + report.numTodoTests;
    // A test file that fails to load has no tests to count; it is still a failure.
    const brokenFiles = report.testResults.filter(
      (file) => file.status === 'failed' && file.assertionResults.length === 0,
    ).length;
    failed += brokenFiles;
    console.log(
      `summary: ${manifest.name}: ${report.numPassedTests} passed, ${report.numFailedTests + brokenFiles} failed`,
    );
  }
}

for (const arg of process.argv.slice(2)) {
  const match = /^--check=(.+)=(\d+)$/.exec(arg);
  if (!match) continue;
  const ok = match[2] === '0';
  console.log(`summary: check ${match[1]}: ${ok ? 'passed' : 'FAILED'}`);
  if (ok) passed += 1;
  else failed += 1;
}

if (skipped > 0) console.log(`summary: ${skipped} skipped (opt-in stages)`);
// The last line is read by CI: exactly `N passed, N failed`.
console.log(`${passed} passed, ${failed} failed`);
process.exitCode = failed > 0 ? 1 : 0;
