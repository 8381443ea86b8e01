import { parseNameAddr, type SipRequest, type SipResponse } from '@xpp/session-sdp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { challengeParams, digestAuthorization } from './support/raw-sip-client.js';
import { registerFlow, requestTo, responseTo, wsFlowClient, type FlowClient } from './support/flow-client.js';
import { TestOverlay, type TestPeer } from './sipp/overlay.js';

// Issue 20: what JsSIP in a browser exposed (browser-call.test.ts), on raw WebSocket clients. A caller on peer A and a
// callee on peer B, both over WebSocket: each peer's sides differ (WS toward its client, UDP toward the other
// peer), so each puts RFC 5658's double Record-Route; the ACK and the BYE follow the four Routes. With one
// Record-Route naming each peer's WS listener, peer A sent the ACK to peer B's WS port, which it cannot dial.
let overlay: TestOverlay;
let a: TestPeer;
let b: TestPeer;
const clients: FlowClient[] = [];
beforeAll(async () => {
  overlay = await TestOverlay.certified(2, {}, { webSockets: true });
  [a, b] = overlay.peers as [TestPeer, TestPeer];
  await overlay.addUser('alice', 'wonderland');
  await overlay.addUser('bob', 'builder');
});
afterAll(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await overlay.close();
});

/** A WebSocket client registered at `peer`, and the contact it registered (what it puts in its dialogs too). */
async function client(peer: TestPeer, user: string, password: string): Promise<[FlowClient, string]> {
  const c = await wsFlowClient(`ws://127.0.0.1:${peer.ws?.port}`);
  clients.push(c);
  const ok = await registerFlow(c, user, password, { regId: 1 });
  expect(ok.status).toBe(200);
  return [c, parseNameAddr(ok.headers.get('contact') ?? '')?.uri ?? ''];
}

const lines = (...l: string[]) => [...l, '', ''].join('\r\n');
const viaLines = (m: SipRequest | SipResponse) => m.headers.getAll('via').map((v) => `Via: ${v}`);

/** Alice's INVITE to bob, answering a 407 when the peer challenges it; resolves with its CSeq number. */
async function invite(
  caller: FlowClient,
  contact: string,
  callee: FlowClient,
  callId: string,
): Promise<number> {
  const text = (cseq: number, authorization?: string) =>
    lines(
      'INVITE sip:bob@localhost SIP/2.0',
      `Via: SIP/2.0/WS alice.invalid;branch=z9hG4bK-inv-${cseq}`,
      'Max-Forwards: 70',
      'From: <sip:alice@localhost>;tag=a1',
      'To: <sip:bob@localhost>',
      `Call-ID: ${callId}`,
      `CSeq: ${cseq} INVITE`,
      `Contact: <${contact}>`,
      ...(authorization === undefined ? [] : [`Proxy-Authorization: ${authorization}`]),
      'Content-Length: 0',
    );
  caller.send(text(1));
  // Either the INVITE reaches the callee, or the caller's peer challenges it first.
  const first = await Promise.race([requestTo(callee, 'INVITE', callId), responseTo(caller, callId, 1)]);
  if (first.kind !== 'response' || first.status !== 407) return 1;
  const params = challengeParams(first, 'proxy-authenticate');
  const authorization = digestAuthorization({
    username: 'alice',
    realm: params?.get('realm') ?? '',
    password: 'wonderland',
    nonce: params?.get('nonce') ?? '',
    uri: 'sip:bob@localhost',
    nc: '00000001',
    method: 'INVITE',
  });
  caller.send(text(2, authorization));
  return 2;
}

describe('a call between two WebSocket clients on two peers (RFC 5658 double Record-Route)', () => {
  it('the callee sees four Record-Routes; the caller’s ACK and the callee’s BYE follow them', async () => {
    const [alice, aliceContact] = await client(a, 'alice', 'wonderland');
    const [bob, bobContact] = await client(b, 'bob', 'builder');
    const callId = `ws-dialog-${process.pid}`;
    const cseq = await invite(alice, aliceContact, bob, callId);

    const received = await requestTo(bob, 'INVITE', callId);
    const token = /;xpp-rr=[\w-]{22}>$/;
    const recordRoutes = received.headers.getAll('record-route');
    expect(recordRoutes.map((r) => r.replace(token, '>'))).toEqual([
      `<sip:127.0.0.1:${b.ws?.port};lr;transport=ws>`,
      `<sip:127.0.0.1:${b.sip.port};lr>`,
      `<sip:127.0.0.1:${a.sip.port};lr>`,
      `<sip:127.0.0.1:${a.ws?.port};lr;transport=ws>`,
    ]);
    bob.send(
      lines(
        'SIP/2.0 200 OK',
        ...viaLines(received),
        ...recordRoutes.map((r) => `Record-Route: ${r}`),
        `From: ${received.headers.get('from')}`,
        `To: ${received.headers.get('to')};tag=b1`,
        `Call-ID: ${callId}`,
        `CSeq: ${cseq} INVITE`,
        `Contact: <${bobContact}>`,
        'Content-Length: 0',
      ),
    );
    const ok = await responseTo(alice, callId, cseq);
    expect(ok.status).toBe(200);

    // RFC 3261 §12.1.2: the caller's route set is the Record-Route reversed, its remote target the callee's Contact.
    const callerRoutes = ok.headers.getAll('record-route').reverse();
    alice.send(
      lines(
        `ACK ${bobContact} SIP/2.0`,
        'Via: SIP/2.0/WS alice.invalid;branch=z9hG4bK-ack-1',
        'Max-Forwards: 70',
        ...callerRoutes.map((r) => `Route: ${r}`),
        'From: <sip:alice@localhost>;tag=a1',
        'To: <sip:bob@localhost>;tag=b1',
        `Call-ID: ${callId}`,
        `CSeq: ${cseq} ACK`,
        'Content-Length: 0',
      ),
    );
    const ack = await requestTo(bob, 'ACK', callId);
    expect(ack.headers.has('route')).toBe(false);

    bob.send(
      lines(
        `BYE ${aliceContact} SIP/2.0`,
        'Via: SIP/2.0/WS bob.invalid;branch=z9hG4bK-bye-1',
        'Max-Forwards: 70',
        ...recordRoutes.map((r) => `Route: ${r}`),
        'From: <sip:bob@localhost>;tag=b1',
        'To: <sip:alice@localhost>;tag=a1',
        `Call-ID: ${callId}`,
        'CSeq: 1 BYE',
        'Content-Length: 0',
      ),
    );
    const bye = await requestTo(alice, 'BYE', callId);
    alice.send(
      lines(
        'SIP/2.0 200 OK',
        ...viaLines(bye),
        `From: ${bye.headers.get('from')}`,
        `To: ${bye.headers.get('to')}`,
        `Call-ID: ${callId}`,
        'CSeq: 1 BYE',
        'Content-Length: 0',
      ),
    );
    expect((await responseTo(bob, callId, 1)).status).toBe(200);
  });
});
