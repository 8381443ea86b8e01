import { spawn, spawnSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { copyFileSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';

/** The installed sipp's version; throws when it is missing, so interop is never skipped silently. */
export function sippVersion(): string {
  // `sipp -v` exits 99 after printing its version: only a missing binary is an error here.
  const result = spawnSync('sipp', ['-v'], { encoding: 'utf8' });
  const version = /SIPp v\S+/.exec(result.stdout ?? '')?.[0];
  if (result.error !== undefined || version === undefined)
    throw new Error('sipp is not installed: `apt-get install -y sip-tester` (Debian package sip-tester)', {
      cause: result.error,
    });
  return version;
}

/** A UDP port free on loopback right now (bound, read, released). */
export async function freeUdpPort(): Promise<number> {
  const socket = createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  const { port } = socket.address();
  await new Promise<void>((resolve) => socket.close(resolve));
  return port;
}

/** Media ports sipp binds from `-mp` on: audio RTP and RTCP, video RTP and RTCP. */
const SIPP_MEDIA_PORTS = 4;
/** Below the kernel's ephemeral range (32768–60999): no socket the OS numbers itself takes a port here meanwhile. */
const MEDIA_RANGE = { from: 20_000, to: 32_000 } as const;

/**
 * A run of `SIPP_MEDIA_PORTS` UDP ports free on loopback right now, outside the ephemeral range: an ephemeral `-mp`
 * leaves its neighbours to whatever the OS numbers next (seen: sipp failing to bind its video port, EADDRINUSE).
 */
async function freeMediaPorts(): Promise<number> {
  for (let attempt = 0; ; attempt++) {
    const span = MEDIA_RANGE.to - MEDIA_RANGE.from - SIPP_MEDIA_PORTS;
    const first = MEDIA_RANGE.from + 2 * Math.floor((Math.random() * span) / 2);
    const sockets = Array.from({ length: SIPP_MEDIA_PORTS }, () => createSocket('udp4'));
    const bound = await Promise.all(
      sockets.map(
        (socket, i) =>
          new Promise<boolean>((resolve) => {
            socket.once('error', () => resolve(false));
            socket.bind(first + i, '127.0.0.1', () => resolve(true));
          }),
      ),
    );
    await Promise.all(
      sockets.map(
        (socket) =>
          new Promise<void>((resolve) => {
            try {
              socket.close(() => resolve());
            } catch {
              resolve(); // a socket whose bind failed may be closed already
            }
          }),
      ),
    );
    if (bound.every(Boolean) || attempt >= 50) return first;
  }
}

export interface SippResult {
  readonly code: number | null;
  readonly output: string;
  /** The scenario's message log, error log and `<log>` output. */
  readonly logs: string;
}

export interface SippRun {
  /** Local SIP port (`-p`). */
  readonly port: number;
  /** `-s`: the user part the scenario's `[service]` names. */
  readonly service?: string;
  /** Where the scenario sends; absent for a UAS. */
  readonly remote?: { readonly address: string; readonly port: number };
  /** Digest credentials (`-au` / `-ap`). */
  readonly auth?: { readonly username: string; readonly password: string };
  /** Calls to run (`-m`), one at a time by default. */
  readonly calls?: number;
  readonly extraArgs?: readonly string[];
}

/**
 * Runs an unmodified sipp on the scenario file at `scenarioPath`, on loopback, in a scratch directory (sipp writes its
 * logs next to the scenario), with a global timeout so that a hang fails. Resolves when sipp exits.
 */
export async function runSipp(scenarioPath: string, run: SippRun): Promise<SippResult> {
  const dir = mkdtempSync(join(tmpdir(), 'xpp-sipp-'));
  const scenario = join(dir, basename(scenarioPath));
  copyFileSync(scenarioPath, scenario);
  const args = [
    '-sf',
    scenario,
    '-i',
    '127.0.0.1',
    '-p',
    String(run.port),
    '-mi',
    '127.0.0.1',
    '-mp',
    String(await freeMediaPorts()),
    ...(run.service === undefined ? [] : ['-s', run.service]),
    '-m',
    String(run.calls ?? 1),
    '-nostdin',
    '-trace_err',
    '-trace_logs',
    '-trace_msg',
    '-timeout',
    '20s',
    '-timeout_error',
    ...(run.auth === undefined ? [] : ['-au', run.auth.username, '-ap', run.auth.password]),
    ...(run.extraArgs ?? []),
    ...(run.remote === undefined ? [] : [`${run.remote.address}:${run.remote.port}`]),
  ];
  const child = spawn('sipp', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
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
