import type { IncomingInvite, SipCall, SipRequest } from '@xpp/session-sdp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '@xpp/reliability/testing';
import { cancelFor } from '../src/proxy/forwarding.js';
import { newRequest, TestOverlay, transact } from './sipp/overlay.js';

let overlay: TestOverlay;
beforeAll(async () => {
  overlay = await TestOverlay.start(3);
  await overlay.addUser('alice', 'wonderland');
  await overlay.addUser('bob', 'builder');
  await overlay.addUser('carol', 'singer');
  await overlay.addUser('dave', 'diver');
  await overlay.addUser('erin', 'eagle');
  await overlay.addUser('frank', 'fisher');
});
afterAll(async () => {
  await overlay.close();
});

const OFFER = { contentType: 'application/sdp', body: 'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n' };

/** Alice registered at peer 1, a callee (`bob` by default) at peer 2 whose UA answers through `onInvite`. */
async function aliceAndBob(onInvite: (invite: IncomingInvite) => void, callee = 'bob') {
  const [, a, b] = overlay.peers as [never, (typeof overlay.peers)[0], (typeof overlay.peers)[0]];
  const alice = await overlay.client(a, 'sip:alice@localhost', 'wonderland');
  const password = { bob: 'builder', dave: 'diver', erin: 'eagle', frank: 'fisher' }[callee];
  const bob = await overlay.client(b, `sip:${callee}@localhost`, password, '', { onInvite });
  expect((await alice.registrar.register(600)).status).toBe(200);
  expect((await bob.registrar.register(600)).status).toBe(200);
  return { a, b, alice, bob };
}

describe('proxy (RFC 3261 §16) between peers over real UDP', () => {
  it('routes an INVITE for an AOR to the peer holding the callee’s flow; ACK and BYE follow the Record-Route', async () => {
    const invites: SipRequest[] = [];
    const answered: Promise<SipCall>[] = [];
    const { a, b, alice } = await aliceAndBob((invite) => {
      invites.push(invite.request);
      answered.push(invite.accept(OFFER));
    });
    const calls: string[] = [];
    a.front.on('call', (e) => calls.push(`${e.method} ${e.aor} ${e.status}`));
    const call = await alice.ua.invite('sip:bob@localhost', OFFER, { nextHop: a.sip });
    const bobCall = await answered[0]!;
    const invite = invites[0]!;
    // Peer 1 then peer 2 on the path: two Vias and Record-Routes of theirs, Max-Forwards down by two.
    const rr = (port: number) => new RegExp(`^<sip:127\\.0\\.0\\.1:${port};lr;xpp-rr=[\\w-]{22}>$`);
    const recordRoutes = invite.headers.getAll('record-route');
    expect(recordRoutes).toHaveLength(2);
    expect(recordRoutes[0]).toMatch(rr(b.sip.port));
    expect(recordRoutes[1]).toMatch(rr(a.sip.port));
    expect(invite.headers.getAll('via')).toHaveLength(3);
    expect(invite.headers.get('max-forwards')).toBe('68');
    expect(calls).toEqual(['INVITE sip:bob@localhost 200']);
    expect(call.dialog.state.routeSet).toHaveLength(2);
    await call.bye();
    expect(await bobCall.ended).toBe('remote-bye');
    expect(a.front.stats.proxied).toBeGreaterThanOrEqual(3);
    expect(b.front.stats.proxied).toBeGreaterThanOrEqual(3);
  });

  it('the callee hangs up: its BYE goes back through both peers', async () => {
    const answered: Promise<SipCall>[] = [];
    const { a, alice } = await aliceAndBob((invite) => answered.push(invite.accept(OFFER)), 'dave');
    const call = await alice.ua.invite('sip:dave@localhost', OFFER, { nextHop: a.sip });
    const bobCall = await answered[0]!;
    await bobCall.bye(); // resolves on its final response (rejects on Timer F)
    expect(await call.ended).toBe('remote-bye');
  });

  it('480 for a user without credential as for a user without binding, 483 when Max-Forwards is 0', async () => {
    const a = overlay.peers[0]!;
    const { ua } = await overlay.client(a, 'sip:alice@localhost', undefined);
    const status = async (request: SipRequest) => (await transact(ua.layer, request, a.sip)).at(-1)!.status;
    expect(await status(newRequest(ua, 'INVITE', 'sip:nobody@localhost', [], OFFER.body))).toBe(480);
    expect(await status(newRequest(ua, 'INVITE', 'sip:carol@localhost', [], OFFER.body))).toBe(480);
    expect(await status(newRequest(ua, 'INVITE', 'sip:bob@localhost', [['Max-Forwards', '0']]))).toBe(483);
    expect(await status(newRequest(ua, 'OPTIONS', 'sip:localhost'))).toBe(200);
    expect(await status(newRequest(ua, 'MESSAGE', 'sip:localhost'))).toBe(404);
    // Not our domain and not a flow of ours: no open relay.
    expect(await status(newRequest(ua, 'INVITE', 'sip:someone@example.com', [], OFFER.body))).toBe(403);
    expect(a.front.stats.rejected).toMatchObject({ 'unknown-user': 1, 'no-binding': 1, 'too-many-hops': 1 });
  });

  it('caller and callee at the same peer: one hop, one Record-Route', async () => {
    const a = overlay.peers[0]!;
    const invites: SipRequest[] = [];
    const answered: Promise<SipCall>[] = [];
    const caller = await overlay.client(a, 'sip:alice@localhost', 'wonderland');
    const callee = await overlay.client(a, 'sip:carol@localhost', 'singer', '', {
      onInvite: (invite) => {
        invites.push(invite.request);
        answered.push(invite.accept(OFFER));
      },
    });
    expect((await callee.registrar.register(600)).status).toBe(200);
    const call = await caller.ua.invite('sip:carol@localhost', OFFER, { nextHop: a.sip });
    expect(invites[0]!.headers.getAll('record-route')).toEqual([
      expect.stringMatching(new RegExp(`^<sip:127\\.0\\.0\\.1:${a.sip.port};lr;xpp-rr=[\\w-]{22}>$`)),
    ]);
    expect(invites[0]!.uri).toBe(callee.contact);
    await call.bye();
    expect(await (await answered[0]!).ended).toBe('remote-bye');
    await callee.registrar.register(0, { contact: '*' });
  });

  it('relays CANCEL of a pending INVITE: the callee answers 487 and the caller gets it back', async () => {
    const pending: IncomingInvite[] = [];
    // A callee of its own: bob's contact of the first case is still registered, and an INVITE now rings it too.
    const { a, alice } = await aliceAndBob((invite) => pending.push(invite), 'erin');
    const invite = newRequest(
      alice.ua,
      'INVITE',
      'sip:erin@localhost',
      [['Content-Type', OFFER.contentType]],
      OFFER.body,
    );
    const final = transact(alice.ua.layer, invite, a.sip);
    await waitFor(() => pending.length === 1, { timeoutMs: 10_000 });
    const cancel = await transact(alice.ua.layer, cancelFor(invite), a.sip);
    expect(cancel.at(-1)!.status).toBe(200);
    expect((await final).at(-1)!.status).toBe(487);
  });

  it('a CANCEL that overtakes its INVITE while the callee is looked up: 200, the INVITE 487, the callee never rung', async () => {
    // A forking peer CANCELs a branch as soon as another answered, and that CANCEL may reach the next peer while
    // the INVITE still waits for the overlay there (seen in CI): it must not be 481 with the callee then rung.
    const rung: IncomingInvite[] = [];
    const { a, alice } = await aliceAndBob((invite) => rung.push(invite), 'frank');
    const location = a.front.location!;
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const lookup = location.lookup.bind(location);
    location.lookup = async (aor) => {
      await gate;
      return lookup(aor);
    };
    try {
      const invite = newRequest(
        alice.ua,
        'INVITE',
        'sip:frank@localhost',
        [['Content-Type', OFFER.contentType]],
        OFFER.body,
      );
      const final = transact(alice.ua.layer, invite, a.sip);
      const cancel = await transact(alice.ua.layer, cancelFor(invite), a.sip);
      expect(cancel.at(-1)!.status).toBe(200);
      expect((await final).at(-1)!.status).toBe(487);
      release();
      // The lookup ends now and finds frank's binding: nothing may ring him for a cancelled INVITE.
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(rung).toHaveLength(0);
    } finally {
      release();
      location.lookup = lookup;
    }
  });

  it('answers 503 with Retry-After when the overlay cannot be asked (here: a node that is not a peer yet)', async () => {
    const candidate = await overlay.addPeer();
    const { ua } = await overlay.client(candidate, 'sip:alice@localhost', undefined);
    const responses = await transact(
      ua.layer,
      newRequest(ua, 'INVITE', 'sip:bob@localhost', [], OFFER.body),
      candidate.sip,
    );
    const final = responses.at(-1)!;
    expect(final.status).toBe(503);
    expect(final.headers.get('retry-after')).toBe('5');
    expect(candidate.front.stats.rejected).toMatchObject({ 'overlay-error': 1 });
  });
});
