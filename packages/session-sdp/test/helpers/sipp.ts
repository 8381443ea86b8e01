import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const SCENARIOS = fileURLToPath(new URL('../sipp/', import.meta.url));

/** Fails loudly when sipp is missing: interop must never be skipped silently. */
export function requireSipp(): string {
  // `sipp -v` exits 99 after printing its version; only a missing binary is an error here.
  const result = spawnSync('sipp', ['-v'], { encoding: 'utf8' });
  const version = /SIPp v\S+/.exec(result.stdout ?? '')?.[0];
  if (result.error !== undefined || version === undefined) {
    throw new Error('sipp is not installed: `apt-get install -y sip-tester` (Debian package sip-tester)', {
      cause: result.error,
    });
  }
  return version;
}

export interface SippRun {
  readonly code: number | null;
  readonly output: string;
  /** The scenario's error and log files. */
  readonly logs: string;
}

/**
 * Runs one sipp scenario from test/sipp in a scratch directory (sipp writes its logs next to the scenario) for
 * one call, with a global timeout so a hang becomes a failure.
 */
export function runSipp(scenario: string, args: readonly string[], onSpawn?: () => void): Promise<SippRun> {
  const dir = mkdtempSync(join(tmpdir(), 'xpp-sipp-'));
  copyFileSync(join(SCENARIOS, scenario), join(dir, scenario));
  const child = spawn(
    'sipp',
    [
      '-sf',
      join(dir, scenario),
      '-m',
      '1',
      '-nostdin',
      '-trace_err',
      '-trace_logs',
      '-timeout',
      '20s',
      '-timeout_error',
      ...args,
    ],
    { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  onSpawn?.();
  return new Promise((resolve) => {
    child.on('close', (code) => {
      const logs = readdirSync(dir)
        .filter((f) => f.endsWith('.log'))
        .map((f) => `--- ${f}\n${readFileSync(join(dir, f), 'utf8')}`)
        .join('\n');
      rmSync(dir, { recursive: true, force: true });
      resolve({ code, output, logs });
    });
  });
}
