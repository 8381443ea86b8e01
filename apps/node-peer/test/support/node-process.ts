import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { waitFor } from '@xpp/reliability/testing';

/** The committed launcher of the built `xpp-node` (tests run after the build). */
export const XPP_NODE = fileURLToPath(new URL('../../bin/xpp-node.js', import.meta.url));

/** A running `xpp-node` child process with its output collected. */
export class NodeProcess {
  readonly child: ChildProcess;
  stdout = '';
  stderr = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  constructor(args: readonly string[], env: NodeJS.ProcessEnv = {}, nodeArgs: readonly string[] = []) {
    this.child = spawn(process.execPath, [...nodeArgs, XPP_NODE, ...args], {
      env: { PATH: process.env['PATH'], ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child.stdout?.on('data', (chunk: Buffer) => (this.stdout += chunk.toString()));
    this.child.stderr?.on('data', (chunk: Buffer) => (this.stderr += chunk.toString()));
    this.exited = new Promise((resolve) =>
      this.child.on('exit', (code, signal) => resolve({ code, signal })),
    );
  }

  /** The JSON log lines printed so far. */
  logs(): Record<string, unknown>[] {
    return this.stdout
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  }

  /** The ports from the `node started` log line, once printed. */
  ports(): Promise<{ sip: number; xpp: number; http: number }> {
    return waitFor(
      () => {
        if (this.child.exitCode !== null)
          throw new Error(`xpp-node exited ${this.child.exitCode}: ${this.stderr}`);
        const line = this.logs().find((l) => l['msg'] === 'node started');
        return line?.['ports'] as { sip: number; xpp: number; http: number } | undefined;
      },
      { what: 'the node started log line', timeoutMs: 20_000, intervalMs: 50 },
    );
  }

  /** Resolves once the node's `/healthz` on `httpPort` answers 200 (a peer that serves). */
  async healthy(httpPort: number): Promise<void> {
    await waitFor(async () => (await fetch(`http://127.0.0.1:${httpPort}/healthz`)).status === 200, {
      what: 'healthz 200',
      timeoutMs: 20_000,
      intervalMs: 50,
    });
  }

  kill(): void {
    if (this.child.exitCode === null) this.child.kill('SIGKILL');
  }
}

/** Runs `xpp-node` to completion. */
export async function runXppNode(
  args: readonly string[],
  env: NodeJS.ProcessEnv = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const p = new NodeProcess(args, env);
  const { code } = await p.exited;
  return { code, stdout: p.stdout, stderr: p.stderr };
}
