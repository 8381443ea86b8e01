import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { waitFor } from '@xpp/fragment/testing';
import { createNatTestbed, type NatTestbed } from '@xpp/netns';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const script = (name: string) => fileURLToPath(new URL(`./nat/${name}`, import.meta.url));

function collect(child: ChildProcess): { lines: string[]; exited: Promise<number | null> } {
  const lines: string[] = [];
  let buffer = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    buffer += chunk.toString();
    const parts = buffer.split('\n');
    buffer = parts.pop() ?? '';
    lines.push(...parts);
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) =>
    child.on('exit', (code) => {
      if (code !== 0 && stderr) lines.push(`stderr: ${stderr}`);
      resolve(code);
    }),
  );
  return { lines, exited };
}

/** Waits for a child's output line containing `text`; the timeout error shows the output so far. */
function lineWith(lines: string[], text: string, ms = 15_000): Promise<true> {
  return waitFor(() => lines.some((l) => l.includes(text)), {
    timeoutMs: ms,
    what: () => `"${text}" in the output: ${lines.join('\n')}`,
  });
}

interface Report {
  ok: boolean;
  error?: string;
  srflx: { address: string; port: number };
  remote: { address: string; port: number };
  secure: boolean;
  transferred?: number;
}

// Runs in CI as root (.ci/run installs iproute2 and nftables). Without namespaces createNatTestbed throws:
// the suite fails loudly rather than skipping.
describe('XPP session between two hosts behind their own NATs', () => {
  let bed: NatTestbed;
  const children: ChildProcess[] = [];
  beforeAll(() => {
    bed = createNatTestbed({ hosts: 2 });
  });
  afterAll(() => {
    for (const child of children) child.kill();
    bed?.destroy();
  });

  it(
    'sets up by SIP via the public side, opens by simultaneous SYNs, and completes a reliable transfer',
    { timeout: 90_000 },
    async () => {
      const [alice, bob] = bed.hosts as [
        NonNullable<NatTestbed['hosts'][0]>,
        NonNullable<NatTestbed['hosts'][0]>,
      ];
      const spawn = (ns: string, args: string[]) => {
        const child = bed.spawnIn(ns, process.execPath, args);
        children.push(child);
        return collect(child);
      };
      const rendezvous = spawn(bed.server.ns, [script('rendezvous.mjs'), bed.server.address]);
      await lineWith(rendezvous.lines, 'ready');
      const callee = spawn(bob.ns, [
        script('peer.mjs'),
        'callee',
        'bob',
        'alice',
        bob.address,
        bed.server.address,
      ]);
      await lineWith(callee.lines, 'registered');
      const caller = spawn(alice.ns, [
        script('peer.mjs'),
        'caller',
        'alice',
        'bob',
        alice.address,
        bed.server.address,
        '20',
      ]);
      const [callerCode, calleeCode] = await Promise.all([caller.exited, callee.exited]);
      const report = (lines: string[]) => JSON.parse(lines.find((l) => l.startsWith('{')) ?? '{}') as Report;
      const a = report(caller.lines);
      const b = report(callee.lines);
      expect({ caller: a.error, callee: b.error, callerCode, calleeCode }).toEqual({
        caller: undefined,
        callee: undefined,
        callerCode: 0,
        calleeCode: 0,
      });
      // Each side saw itself behind its NAT (STUN) and reached the other at the other's NAT address.
      expect(a.srflx.address).toBe(alice.natAddress);
      expect(b.srflx.address).toBe(bob.natAddress);
      expect(a.remote).toEqual(b.srflx);
      expect(b.remote).toEqual(a.srflx);
      expect(a.secure && b.secure).toBe(true);
      expect(a.transferred).toBe(20 * 50_000);
      expect(rendezvous.lines.filter((l) => l.startsWith('registered')).length).toBe(2);
    },
  );
});
