import { setTimeout as sleep } from 'node:timers/promises';
import { SipHeaders, type SipRequest } from '@xpp/session-sdp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '@xpp/reliability/testing';
import { IDENTITY_HEADER, IdentityAsserter } from '../src/proxy/identity.js';
import { TestOverlay } from './sipp/overlay.js';
import { RawSipClient } from './support/raw-sip-client.js';

// Issue 17 item 2, black box over real UDP: a client's call from a user of the domain is challenged (407), the
// caller's identity crosses to the next peer only as an assertion signed by a certified peer, and no one gets a
// P-Asserted-Identity delivered that a peer did not verify.
let overlay: TestOverlay;
let bob: RawSipClient;
let caller: RawSipClient;
let mallory: RawSipClient;

beforeAll(async () => {
  overlay = await TestOverlay.certified(2, { authLimits: { freeFailures: 2 } });
  await overlay.addUser('alice', 'wonderland');
  await overlay.addUser('bob', 'builder');
  bob = await RawSipClient.open('127.0.0.41');
  bob.answer = true;
  bob.contactUser = 'bob';
  caller = await RawSipClient.open('127.0.0.42');
  mallory = await RawSipClient.open('127.0.0.43');
  // Bob's flow is at peer 1; callers ask peer 0, which forwards to peer 1.
  expect((await bob.register(overlay.peers[1]!.sip, 'sip:bob@localhost', 'builder')).final.status).toBe(200);
});
afterAll(async () => {
  for (const c of [bob, caller, mallory]) c?.close();
  await overlay?.close();
});

const invites = () => bob.received.filter((r) => r.method === 'INVITE');
const lastInvite = () => invites().at(-1);

describe('calls of the domain’s users are challenged (407)', () => {
  it('without credentials 407; with the right digest the call reaches the callee asserted', async () => {
    const { challenge, final } = await caller.call(
      overlay.peers[0]!.sip,
      'INVITE',
      'sip:bob@localhost',
      'sip:alice@localhost',
      'wonderland',
      { To: '<sip:bob@localhost>' },
    );
    expect(challenge.status).toBe(407);
    expect(challenge.headers.get('proxy-authenticate')).toMatch(
      /^Digest realm="localhost", nonce="[^"]+", algorithm=MD5/,
    );
    expect(final.status).toBe(200);
    const delivered = lastInvite()!;
    // Asserted by peer 0, verified by peer 1, which delivers the PAI and keeps the assertion to itself.
    expect(delivered.headers.get('p-asserted-identity')).toBe('<sip:alice@localhost>');
    expect(delivered.headers.has(IDENTITY_HEADER)).toBe(false);
  });

  it('SUBSCRIBE out of any dialog is challenged like INVITE and MESSAGE, and reaches the callee only answered', async () => {
    const subscriber = await RawSipClient.open('127.0.0.45');
    try {
      const subscribes = () => bob.received.filter((r) => r.method === 'SUBSCRIBE');
      const headers = { From: '<sip:alice@localhost>;tag=sub', Event: 'presence', Expires: '60' };
      const challenge = await subscriber.request(
        overlay.peers[0]!.sip,
        'SUBSCRIBE',
        'sip:bob@localhost',
        headers,
      );
      expect(challenge.status).toBe(407);
      await sleep(200);
      expect(subscribes()).toEqual([]);
      // Answered, it goes on to Bob (who never answers a SUBSCRIBE: only its arrival is looked at), asserted.
      void subscriber
        .call(overlay.peers[0]!.sip, 'SUBSCRIBE', 'sip:bob@localhost', 'sip:alice@localhost', 'wonderland', {
          Event: 'presence',
          Expires: '60',
        })
        .catch(() => undefined);
      await waitFor(() => subscribes().length > 0, { timeoutMs: 3_000 });
      const delivered = subscribes();
      expect(delivered.at(-1)!.headers.get('p-asserted-identity')).toBe('<sip:alice@localhost>');
    } finally {
      subscriber.close();
    }
  });

  it('a wrong password gets 407 again, then the (AOR, address) pair backs off; ACK and CANCEL are not challenged', async () => {
    const before = invites().length;
    // Two free failures (authLimits), then each further one makes the pair wait.
    for (let i = 0; i < 3; i++) {
      const { challenge, final } = await caller.call(
        overlay.peers[0]!.sip,
        'MESSAGE',
        'sip:bob@localhost',
        'sip:alice@localhost',
        'wrong',
      );
      expect([challenge.status, final.status]).toEqual([407, 407]);
    }
    const { final } = await caller.call(
      overlay.peers[0]!.sip,
      'MESSAGE',
      'sip:bob@localhost',
      'sip:alice@localhost',
      'wrong',
    );
    expect(final.status).toBe(403);
    expect(Number(final.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(overlay.peers[0]!.front.stats.rejected['auth-failed']).toBeGreaterThanOrEqual(2);
    expect(overlay.peers[0]!.front.stats.rejected['auth-backoff']).toBeGreaterThanOrEqual(1);
    // Another address is not locked out by these failures.
    const other = await RawSipClient.open('127.0.0.44');
    try {
      const ok = await other.call(
        overlay.peers[0]!.sip,
        'INVITE',
        'sip:bob@localhost',
        'sip:alice@localhost',
        'wonderland',
      );
      expect(ok.final.status).toBe(200);
    } finally {
      other.close();
    }
    const cancel = await caller.request(overlay.peers[0]!.sip, 'CANCEL', 'sip:bob@localhost', {
      From: '<sip:alice@localhost>;tag=x',
    });
    expect(cancel.status).toBe(481);
    expect(invites().length).toBe(before + 1);
  });
});

describe('between peers the caller travels only as a verified assertion', () => {
  /** An INVITE as peer 0 would forward it to peer 1, from `from`, with `extra` headers. */
  const forged = (from: string, extra: Record<string, string> = {}) =>
    mallory.request(overlay.peers[1]!.sip, 'INVITE', 'sip:bob@localhost', {
      From: `<${from}>;tag=forged`,
      To: '<sip:bob@localhost>',
      ...extra,
    });

  it('a forged peer request claiming a local user is challenged, not delivered; a fake assertion is 438', async () => {
    const before = invites().length;
    expect((await forged('sip:alice@localhost')).status).toBe(407);
    expect(
      (await forged('sip:alice@localhost', { 'P-Asserted-Identity': '<sip:alice@localhost>' })).status,
    ).toBe(407);
    const fake = `${Buffer.alloc(200, 7).toString('base64url')};t=${Math.floor(Date.now() / 1000)}`;
    const refused = await forged('sip:alice@localhost', { [IDENTITY_HEADER]: fake });
    expect([refused.status, refused.reason]).toEqual([438, 'Invalid Identity Header']);
    // Signed by a key the admin never certified: 438 too.
    const rogue = new TestOverlay().certify();
    const outsider = new IdentityAsserter({
      ...rogue,
      domain: 'localhost',
      clock: { wallNow: () => Date.now() },
    });
    expect(
      (
        await forged('sip:alice@localhost', {
          [IDENTITY_HEADER]: outsider.sign(asRequest('sip:alice@localhost', 'rogue-1')),
        })
      ).status,
    ).toBe(438);
    await sleep(200);
    expect(invites().length).toBe(before);
  });

  it('a P-Asserted-Identity from an outside caller is stripped; the call goes through unasserted', async () => {
    const answer = await forged('sip:carol@example.com', { 'P-Asserted-Identity': '<sip:alice@localhost>' });
    expect(answer.status).toBe(200);
    const delivered = lastInvite()!;
    expect(delivered.headers.get('from')).toContain('carol@example.com');
    expect(delivered.headers.has('p-asserted-identity')).toBe(false);
  });

  it('a valid assertion of a certified peer is accepted once; its replay (same Call-ID/CSeq) and a stale date are refused', async () => {
    const asserter = new IdentityAsserter({
      ...overlay.certify(),
      domain: 'localhost',
      clock: { wallNow: () => Date.now() },
    });
    const callId = `assert-${Date.now()}`;
    const headers = (value: string) => ({ 'Call-ID': callId, CSeq: '1 INVITE', [IDENTITY_HEADER]: value });
    const value = asserter.sign(asRequest('sip:alice@localhost', callId));
    expect((await forged('sip:alice@localhost', headers(value))).status).toBe(200);
    expect(lastInvite()!.headers.get('p-asserted-identity')).toBe('<sip:alice@localhost>');
    const before = invites().length;
    const replay = await mallory.request(overlay.peers[1]!.sip, 'INVITE', 'sip:bob@localhost', {
      From: '<sip:alice@localhost>;tag=forged',
      To: '<sip:bob@localhost>',
      ...headers(value),
    });
    expect(replay.status).toBe(438);
    const old = new IdentityAsserter({
      ...overlay.certify(),
      domain: 'localhost',
      clock: { wallNow: () => Date.now() - 120_000 },
    });
    const staleId = `${callId}-stale`;
    const stale = await forged('sip:alice@localhost', {
      'Call-ID': staleId,
      CSeq: '1 INVITE',
      [IDENTITY_HEADER]: old.sign(asRequest('sip:alice@localhost', staleId)),
    });
    expect([stale.status, stale.reason]).toEqual([403, 'Stale Date']);
    await sleep(200);
    expect(invites().length).toBe(before);
    expect(overlay.peers[1]!.front.stats.rejected['identity-replayed']).toBeGreaterThanOrEqual(1);
  });
});

/** The fields an assertion covers, as `forged` sends them (From AOR, To AOR, Call-ID, CSeq 1 INVITE). */
function asRequest(from: string, callId: string): SipRequest {
  const headers = new SipHeaders()
    .append('From', `<${from}>;tag=forged`)
    .append('To', '<sip:bob@localhost>')
    .append('Call-ID', callId)
    .append('CSeq', '1 INVITE');
  return { kind: 'request', method: 'INVITE', uri: 'sip:bob@localhost', headers, body: new Uint8Array(0) };
}
