import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '@xpp/reliability/testing';
import { DemoSipClient } from '../src/cli/demo/sip-client.js';
import { invitePeer } from '../src/cli/peer-commands.js';
import { addUser } from '../src/cli/user-add.js';
import type { NodeStatus } from '../src/status.js';
import { NodeProcess } from './support/node-process.js';

const procs: NodeProcess[] = [];
const clients: DemoSipClient[] = [];
afterEach(() => {
  for (const c of clients.splice(0)) c.close();
  for (const p of procs.splice(0)) p.kill();
});

const status = async (http: number): Promise<NodeStatus> =>
  (await (await fetch(`http://127.0.0.1:${http}/status`)).json()) as NodeStatus;

describe('graceful shutdown (SIGTERM)', () => {
  it('hands the zone and its records over, exits 0, and loses no registration', async () => {
    const base = mkdtempSync(join(tmpdir(), 'xpp-shutdown-'));
    const config = join(base, 'node.json');
    writeFileSync(
      config,
      JSON.stringify({ dimensions: 2, invitePolicy: { maxClients: 0, minStableFlowMs: 0, intervalMs: 100 } }),
    );
    const common = ['--config', config, '--sip-port', '0', '--xpp-port', '0', '--http-port', '0'];
    const first = new NodeProcess(['start', '--data-dir', join(base, 'a'), ...common]);
    procs.push(first);
    const a = await first.ports();
    const admin = { domain: 'localhost', dataDir: join(base, 'a'), httpPort: a.http };
    const adminKey = readFileSync(join(base, 'a', 'admin.pub'), 'utf8').trim();
    const peers = [a];
    for (const name of ['b', 'c']) {
      // Each host enrolls with a one-time token (issue 16), as an operator adds it.
      const { text: token } = await invitePeer(admin, { days: 1 });
      const p = new NodeProcess([
        'join',
        '--via',
        `127.0.0.1:${a.sip}`,
        '--token',
        token,
        '--admin-public-key',
        adminKey,
        '--data-dir',
        join(base, name),
        ...common,
      ]);
      procs.push(p);
      const ports = await p.ports();
      await waitFor(
        async () =>
          (await fetch(`http://127.0.0.1:${ports.http}/healthz`)).status === 200 ? true : undefined,
        { what: `peer ${name} invited`, timeoutMs: 20_000, intervalMs: 50 },
      );
      peers.push(ports);
    }
    const [, b, c] = peers as [typeof a, typeof a, typeof a];
    const leaving = procs[2] as NodeProcess;

    // Users registered at the peers that stay (a flow dies with its peer; the records must not).
    const users: DemoSipClient[] = [];
    for (let i = 0; i < 16; i++) {
      const aor = `sip:user${i}@localhost`;
      await addUser(admin, { aor, password: `pw${i}` });
      const at = i % 2 === 0 ? a : b;
      const client = await DemoSipClient.open({
        aor,
        password: `pw${i}`,
        peer: { address: '127.0.0.1', port: at.sip },
      });
      clients.push(client);
      expect(await client.register()).toBe(200);
      users.push(client);
    }
    const held = await status(c.http);
    expect(held.records).toBeGreaterThan(0);

    leaving.child.kill('SIGTERM');
    expect(await leaving.exited).toEqual({ code: 0, signal: null });
    expect(leaving.logs().map((l) => l['msg'])).toContain('left the overlay, zone and records handed over');
    // The taker (c's sibling) merges the handed zone into its own: two peers, one zone each, the whole space.
    const survivors = await waitFor(
      async () => {
        const s = [await status(a.http), await status(b.http)];
        return s.every((x) => x.zones.length === 1) ? s : undefined;
      },
      { what: 'the taker merged the handed zone', timeoutMs: 20_000, intervalMs: 50 },
    );
    expect(survivors.reduce((sum, x) => sum + x.volume, 0)).toBeCloseTo(1, 12);

    // Every user is still reachable from both remaining peers, and can register again (credential kept).
    const caller = await DemoSipClient.open({
      aor: 'sip:user0@localhost',
      password: 'pw0',
      peer: { address: '127.0.0.1', port: b.sip },
    });
    clients.push(caller);
    for (const user of users.slice(1)) expect(await caller.call(user.aor)).toEqual({ invite: 200, bye: 200 });
    for (const user of users) expect(await user.register()).toBe(200);
  });
});
