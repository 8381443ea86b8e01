import { spawn, spawnSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
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

/** A UDP port free on loopback right now (bound, read, released). */
export async function freePort(): Promise<number> {
  const socket = createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  const { port } = socket.address();
  await new Promise<void>((resolve) => socket.close(resolve));
  return port;
}

/**
 * Runs one sipp scenario from test/sipp for one call on loopback (SIP on `port`, media socket on a free port), in a
 * scratch directory (sipp writes its logs next to the scenario), with a global timeout so a hang is a failure.
 */
export async function runSipp(
  scenario: string,
  port: number,
  args: readonly string[] = [],
): Promise<SippRun> {
  const loopback = [
    '-i',
    '127.0.0.1',
    '-mi',
    '127.0.0.1',
    '-mp',
    String(await freePort()),
    '-p',
    String(port),
  ];
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
      ...loopback,
      ...args,
    ],
    { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
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
