import { OverlayNode, RecordKind } from '@xpp/dht';
import { waitFor } from '@xpp/reliability/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { DemoSipClient } from '../src/cli/demo/sip-client.js';
import { addUser } from '../src/cli/user-add.js';
import type { NodeHandle } from '../src/daemon.js';
import { Daemons } from './support/overlay-trio.js';

let daemons = new Daemons();
const clients: DemoSipClient[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await daemons.closeAll();
  daemons = new Daemons();
});

/** A founder and two peers invited through it, and users alice and bob added at the founder. */
async function trio(): Promise<NodeHandle[]> {
  const a = await daemons.start(daemons.config('a'));
  const b = await daemons.addPeer(a, 'b');
  const c = await daemons.addPeer(a, 'c');
  const admin = { domain: 'localhost', dataDir: a.config.dataDir, httpPort: a.ports.http };
  await addUser(admin, { aor: 'sip:alice@localhost', password: 'alice-pw' });
  await addUser(admin, { aor: 'sip:bob@localhost', password: 'bob-pw' });
  return [a, b, c];
}

async function user(name: string, at: NodeHandle): Promise<DemoSipClient> {
  const client = await DemoSipClient.open({
    aor: `sip:${name}@localhost`,
    password: `${name}-pw`,
    peer: { address: '127.0.0.1', port: at.ports.sip },
  });
  clients.push(client);
  return client;
}

/** Every peer linked to each of its neighbours, the space tiled exactly, one overlay id on every /status. */
async function formed(nodes: readonly NodeHandle[], overlayId: string | undefined): Promise<void> {
  await waitFor(
    () =>
      nodes.every(
        (n) => n.node.state === 'peer' && n.node.neighbours().every((m) => m.linked) && n.node.stats.settled,
      ) && OverlayNode.tiling(nodes.map((n) => n.node)).ok
        ? true
        : undefined,
    { what: 'the overlay re-formed', timeoutMs: 30_000, intervalMs: 100 },
  );
  for (const n of nodes) {
    const status = (await (await fetch(`http://127.0.0.1:${n.ports.http}/status`)).json()) as {
      overlayId: string;
    };
    expect(status.overlayId).toBe(overlayId);
  }
}

describe('restart = rejoin (issue #18)', () => {
  it('a peer of three restarted takes its zone back, one overlay id everywhere, its users register', async () => {
    const [a, b, c] = (await trio()) as [NodeHandle, NodeHandle, NodeHandle];
    const overlayId = a.node.overlayId;
    await formed([a, b, c], overlayId);
    const zones = c.status().zones;
    await daemons.kill(c);
    const back = await daemons.restart(c);
    expect(back.node.state).toBe('peer');
    expect(back.status().zones).toEqual(zones);
    expect(daemons.logs.get(back)?.join('')).toContain('resuming overlay: zones taken back');
    await formed([a, b, back], overlayId);
    expect(
      back.node
        .neighbours()
        .map((n) => n.id)
        .sort(),
    ).toEqual([a.node.id, b.node.id].sort());
    expect(await (await user('alice', back)).register()).toBe(200);
    expect(await (await user('bob', a)).register()).toBe(200);
    expect(await clients[0]?.call('sip:bob@localhost')).toMatchObject({ invite: 200 });
  }, 60_000);

  it('a peer that left gracefully rejoins as a candidate through its neighbours, never resuming what it handed over', async () => {
    const [a, b, c] = (await trio()) as [NodeHandle, NodeHandle, NodeHandle];
    const overlayId = a.node.overlayId;
    await formed([a, b, c], overlayId);
    await c.leave();
    daemons.handles.splice(daemons.handles.indexOf(c), 1);
    await formed([a, b], overlayId);
    // Its directory still names the overlay and its neighbours, but no zone: a candidate, invited into that overlay.
    const back = await daemons.restart(c);
    expect(back.node.state).toBe('candidate');
    expect(daemons.logs.get(back)?.join('')).toContain('joining: registering as a candidate');
    // The invite policy runs on its own timer too; asked here until the candidate's registration has arrived.
    await waitFor(
      async () => {
        await a.front.evaluateInvitePolicy();
        return back.node.state === 'peer' ? true : undefined;
      },
      { what: 'the candidate invited', timeoutMs: 30_000, intervalMs: 250 },
    );
    await back.ready;
    await formed([a, b, back], overlayId);
  }, 60_000);

  it('all three killed and started in reverse order: same overlay, users register, bindings still found', async () => {
    const nodes = (await trio()) as [NodeHandle, NodeHandle, NodeHandle];
    const overlayId = nodes[0].node.overlayId;
    await formed(nodes, overlayId);
    expect(await (await user('alice', nodes[0])).register({ expires: 3600 })).toBe(200);
    expect(await (await user('bob', nodes[1])).register({ expires: 3600 })).toBe(200);
    for (const n of nodes) await daemons.kill(n);
    for (const c of clients.splice(0)) c.close();

    // Each alone a while first: the earlier ones' calls to those not yet back fail, and those call in when back.
    const again: NodeHandle[] = [];
    for (const n of [...nodes].reverse()) {
      if (again.length > 0) await new Promise((resolve) => setTimeout(resolve, 2_000));
      again.unshift(await daemons.restart(n));
      expect(again[0]?.node.state).toBe('peer');
    }
    await formed(again, overlayId);
    for (const n of again) expect(n.node.overlayId).toBe(overlayId);
    // Bob's binding outlived every process: found from any peer, and a call to it is routed (or 430 on a dead flow).
    for (const n of again) expect(await n.node.get('sip:bob@localhost', RecordKind.BINDING)).toHaveLength(1);
    const alice = await user('alice', again[2] as NodeHandle);
    expect(await alice.register()).toBe(200);
    expect([200, 430]).toContain((await alice.call('sip:bob@localhost')).invite);
    expect(await (await user('bob', again[0] as NodeHandle)).register()).toBe(200);
    expect(await alice.call('sip:bob@localhost')).toMatchObject({ invite: 200 });
  }, 60_000);
});
