import { RecordKind } from '@xpp/dht';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '@xpp/reliability/testing';
import { TestOverlay } from './sipp/overlay.js';

let overlay: TestOverlay;
const users = Array.from({ length: 12 }, (_, i) => `user${i}`);
beforeAll(async () => {
  overlay = await TestOverlay.start(4);
  for (const user of users) await overlay.addUser(user, `pw-${user}`);
});
afterAll(async () => {
  await overlay.close();
});

describe('graceful shutdown of a peer loses no registrations (bindings live in the overlay)', () => {
  it('a peer holding binding records leaves: every binding is still found from the others', async () => {
    const registrarPeer = overlay.peers[0]!;
    for (const user of users) {
      const { registrar } = await overlay.client(registrarPeer, `sip:${user}@localhost`, `pw-${user}`);
      expect((await registrar.register(600)).status).toBe(200);
    }
    // The peer (not the registrar) that stores the most bindings as their owner leaves.
    const holders = overlay.peers.slice(1).map((p) => ({
      peer: p,
      bindings: p.node.store.select((r) => r.kind === RecordKind.BINDING && r.role === 'primary').length,
    }));
    const leaving = holders.reduce((a, b) => (b.bindings > a.bindings ? b : a));
    expect(leaving.bindings).toBeGreaterThan(0);
    await leaving.peer.front.close();
    await leaving.peer.node.leave({ signal: AbortSignal.timeout(15_000) });
    const remaining = overlay.peers.filter((p) => p !== leaving.peer);
    // Routes settle once the neighbours have taken in the leaver's NEIGHBOUR-UPDATE: look up until they do.
    const lookups = async () =>
      Promise.all(
        users.map((user, i) =>
          remaining[i % remaining.length]!.front.location!.lookup(`sip:${user}@localhost`),
        ),
      ).catch(() => undefined);
    let found = await lookups();
    await waitFor(async () => (found = await lookups()) !== undefined, { timeoutMs: 15_000 });
    for (const [i, bindings] of found!.entries()) {
      expect(bindings, users[i]).toHaveLength(1);
      expect(Buffer.from(bindings[0]!.flowPeer).toString('hex')).toBe(registrarPeer.node.id);
    }
    overlay.peers.splice(overlay.peers.indexOf(leaving.peer), 1);
  });
});
