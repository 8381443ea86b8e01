import type { SipResponse } from '@xpp/session-sdp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setTimeout as sleep } from 'node:timers/promises';
import { TestOverlay } from './sipp/overlay.js';
import { RawSipClient } from './support/raw-sip-client.js';

// Call theft as the issue found it: Mallory registers Bob's contact URI as her own, at the peer that holds Bob's
// flow. Everything below is raw UDP from sockets on distinct loopback addresses.
let overlay: TestOverlay;
let bob: RawSipClient;
let mallory: RawSipClient;
let caller: RawSipClient;
let bobContact: string;

beforeAll(async () => {
  overlay = await TestOverlay.start(3, { digestAlgorithms: ['MD5', 'SHA-256'] });
  await overlay.addUser('bob', 'builder');
  await overlay.addUser('mallory', 'evil');
  bob = await RawSipClient.open('127.0.0.31');
  bob.answer = true;
  bob.contactUser = 'bob';
  mallory = await RawSipClient.open('127.0.0.32');
  caller = await RawSipClient.open('127.0.0.33');
  bobContact = `sip:bob@${bob.local.address}:${bob.local.port}`;
  const flowPeer = overlay.peers[1]!.sip;
  expect((await bob.register(flowPeer, 'sip:bob@localhost', 'builder')).final.status).toBe(200);
  // Mallory's own AOR and password, Bob's contact URI, registered after his at the same peer.
  const stolen = await mallory.register(flowPeer, 'sip:mallory@localhost', 'evil', {
    contact: `<${bobContact}>`,
  });
  expect(stolen.final.status).toBe(200);
});
afterAll(async () => {
  for (const c of [bob, mallory, caller]) c?.close();
  await overlay.close();
});

const methods = (client: RawSipClient) => client.received.map((r) => r.method);

describe('a stolen contact gets no call', () => {
  it("Bob's call arriving through another peer, and the rest of its dialog, reach Bob and never Mallory", async () => {
    // A caller from another domain: not challenged (calls of the domain's own users are, asserted-identity.test.ts).
    const invite = await caller.request(overlay.peers[0]!.sip, 'INVITE', 'sip:bob@localhost', {
      From: '<sip:carol@example.com>;tag=carol-1',
      To: '<sip:bob@localhost>',
      Contact: `<sip:carol@${caller.local.address}:${caller.local.port}>`,
    });
    expect(invite.status).toBe(200);
    expect(methods(bob)).toContain('INVITE');
    // The dialog goes on as RFC 3261 §12.2.1.1 says: the route set is the Record-Route reversed, the target the
    // callee's Contact — which is the contact URI Mallory registered too.
    const routes = invite.headers.getAll('record-route').reverse();
    const target = /<([^>]+)>/.exec(invite.headers.get('contact') ?? '')![1]!;
    expect(target).toBe(bobContact);
    const bye: SipResponse = await caller.request(overlay.peers[0]!.sip, 'BYE', target, {
      From: '<sip:carol@example.com>;tag=carol-1',
      To: invite.headers.get('to'),
      'Call-ID': invite.headers.get('call-id'),
      CSeq: '2 BYE',
      Route: routes.join(', '),
    });
    expect(bye.status).toBe(200);
    expect(methods(bob)).toContain('BYE');
    expect(methods(mallory)).toEqual([]);
  });

  it('a request sent straight to the contact, out of any dialog or naming neither party, reaches nobody', async () => {
    const flowPeer = overlay.peers[1]!.sip;
    const direct = await caller.request(flowPeer, 'MESSAGE', bobContact, { To: '<sip:bob@localhost>' });
    expect(direct.status).toBeGreaterThanOrEqual(400);
    const strangers = await caller.request(flowPeer, 'BYE', bobContact, {
      From: '<sip:dave@localhost>;tag=d',
      To: '<sip:erin@localhost>;tag=e',
    });
    expect(strangers.status).toBeGreaterThanOrEqual(400);
    // Give any wrongly forwarded request the time to arrive before concluding none did (an absence has no event).
    await sleep(300);
    expect(methods(bob).filter((m) => m === 'MESSAGE')).toEqual([]);
    expect(methods(mallory)).toEqual([]);
  });
});
