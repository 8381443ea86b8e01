import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from '@xpp/reliability/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { DemoSipClient } from '../src/cli/demo/sip-client.js';
import { invitePeer } from '../src/cli/peer-commands.js';
import { addUser } from '../src/cli/user-add.js';
import { NodeProcess } from './support/node-process.js';
import { serving, status, type Ports } from './support/process-overlay.js';

const procs: NodeProcess[] = [];
const clients: DemoSipClient[] = [];
afterEach(() => {
  for (const c of clients.splice(0)) c.close();
  for (const p of procs.splice(0)) p.kill();
});

async function user(aor: string, password: string, sip: number): Promise<DemoSipClient> {
  const client = await DemoSipClient.open({ aor, password, peer: { address: '127.0.0.1', port: sip } });
  clients.push(client);
  return client;
}

describe('whole-overlay restart (SIGKILL, issue #18 item 3)', () => {
  it('three xpp-node processes killed -9 and started in reverse order re-form the overlay', async () => {
    const base = mkdtempSync(join(tmpdir(), 'xpp-sigkill-'));
    const config = join(base, 'node.json');
    writeFileSync(
      config,
      JSON.stringify({ dimensions: 2, invitePolicy: { maxClients: 0, minStableFlowMs: 0, intervalMs: 100 } }),
    );
    const common = ['--config', config, '--http-port', '0'];
    const first = new NodeProcess([
      'start',
      '--data-dir',
      join(base, 'a'),
      ...common,
      '--sip-port',
      '0',
      '--xpp-port',
      '0',
    ]);
    procs.push(first);
    const a = await serving(first);
    const admin = { domain: 'localhost', dataDir: join(base, 'a'), httpPort: a.http };
    const adminKey = readFileSync(join(base, 'a', 'admin.pub'), 'utf8').trim();
    const ports: Ports[] = [a];
    for (const name of ['b', 'c']) {
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
        '--sip-port',
        '0',
        '--xpp-port',
        '0',
      ]);
      procs.push(p);
      ports.push(await serving(p));
    }
    const overlayId = (await status(a.http)).overlayId;
    await addUser(admin, { aor: 'sip:alice@localhost', password: 'alice-pw' });
    await addUser(admin, { aor: 'sip:bob@localhost', password: 'bob-pw' });
    const [, b] = ports as [Ports, Ports, Ports];
    expect(await (await user('sip:bob@localhost', 'bob-pw', b.sip)).register({ expires: 3600 })).toBe(200);

    for (const p of procs.splice(0)) {
      p.child.kill('SIGKILL');
      expect((await p.exited).signal).toBe('SIGKILL');
    }
    for (const c of clients.splice(0)) c.close();

    // Reverse order, each on the ports it had (its neighbours persisted them), with plain `start`.
    const names = ['a', 'b', 'c'];
    const again: Ports[] = [];
    for (const i of [2, 1, 0]) {
      const old = ports[i] as Ports;
      const p = new NodeProcess([
        'start',
        '--data-dir',
        join(base, names[i] as string),
        '--admin-public-key',
        adminKey,
        ...common,
        '--sip-port',
        String(old.sip),
        '--xpp-port',
        String(old.xpp),
      ]);
      procs.push(p);
      again[i] = await serving(p);
      const said = p.logs().map((l) => String(l['msg']));
      expect(said.some((m) => m.startsWith('resuming overlay'))).toBe(true);
      expect(said.some((m) => m.includes('founding overlay'))).toBe(false);
    }
    await waitFor(
      async () => {
        const all = await Promise.all(again.map((p) => status(p.http)));
        return all.every(
          (s) =>
            s.overlayId === overlayId && s.neighbours.length === 2 && s.neighbours.every((n) => n.linked),
        )
          ? all
          : undefined;
      },
      { what: 'the overlay re-formed', timeoutMs: 30_000, intervalMs: 200 },
    );
    const [a2, , c2] = again as [Ports, Ports, Ports];
    const alice = await user('sip:alice@localhost', 'alice-pw', c2.sip);
    expect(await alice.register()).toBe(200);
    // Bob's binding outlived every process: the call routes to it, or gets 430 over the flow that died.
    expect([200, 430]).toContain((await alice.call('sip:bob@localhost')).invite);
    expect(await (await user('sip:bob@localhost', 'bob-pw', a2.sip)).register()).toBe(200);
    expect(await alice.call('sip:bob@localhost')).toEqual({ invite: 200, bye: 200 });
  }, 90_000);
});
