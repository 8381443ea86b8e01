import type { IncomingInvite } from '@xpp/session-sdp';
import { waitFor } from '@xpp/reliability/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cancelFor } from '../src/proxy/forwarding.js';
import { newRequest, TestOverlay, transact, type TestPeer } from './sipp/overlay.js';

// Issue 20 item 4: the glue of forking (fork-invite.ts) over real UDP, with a short Timer C and two branches at most.
const TIMER_C_MS = 600;
let overlay: TestOverlay;
let peers: [TestPeer, TestPeer, TestPeer];
beforeAll(async () => {
  overlay = await TestOverlay.start(3, { timerCMs: TIMER_C_MS, maxForkBranches: 2 });
  peers = overlay.peers as typeof peers;
  await overlay.addUser('alice', 'wonderland');
  // One callee per case: contacts of a case that is over must not be rung by the next.
  for (const user of ['bob', 'carol', 'dave', 'erin']) await overlay.addUser(user, 'builder');
});
afterAll(async () => {
  await overlay.close();
});

const OFFER = { contentType: 'application/sdp', body: 'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n' };

/** A contact of `user` registered at `peer` whose incoming INVITEs `onInvite` handles. */
async function contact(
  peer: TestPeer,
  user: string,
  params: string,
  onInvite: (invite: IncomingInvite) => void,
): Promise<void> {
  const client = await overlay.client(peer, `sip:${user}@localhost`, 'builder', params, { onInvite });
  expect((await client.registrar.register(600)).status).toBe(200);
}

/** Alice (no registration needed: unauthenticated calls in this overlay) calls `user` through peer 0. */
async function call(user: string): Promise<{ status: number; at: number }> {
  const alice = await overlay.client(peers[0], 'sip:alice@localhost', 'wonderland');
  const status = await alice.ua.invite(`sip:${user}@localhost`, OFFER, { nextHop: peers[0].sip }).then(
    () => 200,
    (error: { status?: number }) => error.status ?? 0,
  );
  return { status, at: Date.now() };
}

describe('forking glue over real UDP', () => {
  it('q-values: the q=0.5 contact is rung only after the q=1 one refused', async () => {
    const rung: [string, number][] = [];
    let refusedAt = 0;
    await contact(peers[1], 'bob', ';q=1.0', (invite) => {
      rung.push(['q=1', Date.now()]);
      setTimeout(() => {
        refusedAt = Date.now();
        invite.reject(480);
      }, 200);
    });
    await contact(peers[2], 'bob', ';q=0.5', (invite) => {
      rung.push(['q=0.5', Date.now()]);
      void invite.accept(OFFER);
    });
    expect((await call('bob')).status).toBe(200);
    expect(rung.map(([name]) => name)).toEqual(['q=1', 'q=0.5']);
    expect(rung[1]![1]).toBeGreaterThanOrEqual(refusedAt);
  });

  it('Timer C cancels a contact that rings too long; the best final response then goes up', async () => {
    const silent: IncomingInvite[] = [];
    await contact(peers[1], 'carol', '', (invite) => silent.push(invite));
    await contact(peers[2], 'carol', '', (invite) => invite.reject(486));
    const started = Date.now();
    const outcome = await call('carol');
    // 486 and the silent contact's 487 (after CANCEL) are of one class: the first received wins.
    expect(outcome.status).toBe(486);
    expect(outcome.at - started).toBeGreaterThanOrEqual(TIMER_C_MS);
    expect(silent).toHaveLength(1);
  });

  it("the caller's CANCEL cancels every branch: both contacts answer 487, the caller gets 487", async () => {
    const rung: IncomingInvite[] = [];
    await contact(peers[1], 'dave', '', (invite) => rung.push(invite));
    await contact(peers[2], 'dave', '', (invite) => rung.push(invite));
    const alice = await overlay.client(peers[0], 'sip:alice@localhost', 'wonderland');
    const invite = newRequest(
      alice.ua,
      'INVITE',
      'sip:dave@localhost',
      [['Content-Type', OFFER.contentType]],
      OFFER.body,
    );
    const final = transact(alice.ua.layer, invite, peers[0].sip);
    await waitFor(() => rung.length === 2, { timeoutMs: 10_000 });
    const cancel = await transact(alice.ua.layer, cancelFor(invite), peers[0].sip);
    expect(cancel.at(-1)!.status).toBe(200);
    expect((await final).at(-1)!.status).toBe(487);
    // Each contact's INVITE was cancelled: accepting it now is too late.
    for (const incoming of rung) await expect(incoming.accept(OFFER)).rejects.toThrow();
  });

  it('rings at most maxForkBranches contacts', async () => {
    const rung: string[] = [];
    for (const [i, peer] of [peers[1], peers[2], peers[1]].entries())
      await contact(peer, 'erin', '', (invite) => {
        rung.push(`contact ${i}`);
        invite.reject(486);
      });
    expect(await peers[0].front.location!.lookup('sip:erin@localhost')).toHaveLength(3);
    expect((await call('erin')).status).toBe(486);
    expect(rung).toHaveLength(2);
  });
});
