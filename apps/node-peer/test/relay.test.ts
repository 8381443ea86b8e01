import { SipHeaders, parseSipMessage, type SipRequest, type TransportAddress } from '@xpp/session-sdp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveUri } from '../src/proxy/policy.js';
import { RecordRouteSigner } from '../src/proxy/record-route.js';
import { waitFor } from '@xpp/reliability/testing';
import { newRequest, TestOverlay, transact, type TestPeer } from './sipp/overlay.js';
import { finalResponse, rawRequest, statusLine, UdpListener } from './support/raw-sip.js';
import { challengeParams, digestAuthorization } from './support/raw-sip-client.js';

// Injected so that the test can make a real token for its positive control (each daemon keeps its own key).
const KEY = new Uint8Array(32).fill(7);
const signer = new RecordRouteSigner(KEY);

let overlay: TestOverlay;
let mallory: UdpListener;
let foreign: UdpListener;
beforeAll(async () => {
  overlay = await TestOverlay.start(2, { recordRouteKey: KEY });
  await overlay.addUser('alice', 'wonderland');
  await overlay.addUser('carol', 'singer');
  mallory = await UdpListener.open();
  foreign = await UdpListener.open();
});
afterAll(async () => {
  mallory.close();
  foreign.close();
  await overlay.close();
});

const at = (a: TransportAddress) => `127.0.0.1:${a.port}`;
/** A Record-Route of `peer` with a valid token for the dialog (Call-ID, From tag). */
const tokenRoute = (peer: TestPeer, callId: string, tag: string) =>
  signer.value(
    {
      kind: 'request',
      method: 'INVITE',
      uri: 'sip:x@localhost',
      headers: new SipHeaders([
        ['Call-ID', callId],
        ['From', `<sip:x@localhost>;tag=${tag}`],
      ]),
      body: new Uint8Array(0),
    },
    peer.sip,
  );

/** Every relay shape of issue 17 against `peer`: each names the foreign listener as where it should go. */
function relayAttempts(peer: TestPeer): { name: string; uri: string; headers: Record<string, string> }[] {
  const f = at(foreign.address);
  const node = at(peer.sip);
  const forged = Buffer.alloc(16, 0xab).toString('base64url');
  return [
    { name: 'Route to a foreign host', uri: `sip:victim@${f}`, headers: { Route: `<sip:${f};lr>` } },
    {
      name: 'Route to a foreign host, a user of the domain',
      uri: 'sip:alice@localhost',
      headers: { Route: `<sip:${f};lr>` },
    },
    {
      name: 'Route naming the node, foreign Request-URI',
      uri: `sip:victim@${f}`,
      headers: { Route: `<sip:${node};lr>` },
    },
    {
      name: 'Route set [node, foreign]',
      uri: 'sip:alice@localhost',
      headers: { Route: `<sip:${node};lr>, <sip:${f};lr>` },
    },
    { name: 'no Route, foreign Request-URI', uri: `sip:victim@${f}`, headers: {} },
    {
      name: 'Route set [the domain, foreign]',
      uri: 'sip:alice@localhost',
      headers: { Route: `<sip:localhost;lr>, <sip:${f};lr>` },
    },
    {
      name: 'a forged Record-Route token, [node, foreign]',
      uri: `sip:victim@${f}`,
      headers: { Route: `<sip:${node};lr;xpp-rr=${forged}>, <sip:${f};lr>`, To: `<sip:victim@${f}>;tag=t` },
    },
    {
      name: 'a forged token, foreign Request-URI',
      uri: `sip:victim@${f}`,
      headers: { Route: `<sip:${node};lr;xpp-rr=${forged}>`, To: `<sip:victim@${f}>;tag=t` },
    },
    {
      name: 'a real token of another dialog, [node, foreign]',
      uri: `sip:victim@${f}`,
      headers: {
        Route: `${tokenRoute(peer, 'another-call', 'a')}, <sip:${f};lr>`,
        To: `<sip:victim@${f}>;tag=a`,
      },
    },
    {
      name: 'strict-routing shape: Request-URI the node, Route foreign',
      uri: `sip:${node}`,
      headers: { Route: `<sip:${f};lr>` },
    },
  ];
}

describe('no open relay (issue 17 item 1): raw UDP from an outsider', () => {
  it('answers every relay shape 403 for OPTIONS, INVITE and MESSAGE, and forwards none to the foreign host', async () => {
    let controls = 0;
    for (const peer of overlay.peers) {
      for (const attempt of relayAttempts(peer)) {
        for (const method of ['OPTIONS', 'INVITE', 'MESSAGE']) {
          const body = method === 'MESSAGE' ? 'hello' : '';
          const request = rawRequest(mallory.address, method, attempt.uri, attempt.headers, body);
          const answer = await finalResponse(mallory, request, peer.sip, foreign);
          expect(statusLine(answer), `${attempt.name}, ${method}`).toBe('SIP/2.0 403 Forbidden');
        }
        // An ACK gets no answer: it must simply go nowhere.
        mallory.send(rawRequest(mallory.address, 'ACK', attempt.uri, attempt.headers).text, peer.sip);
      }
      // Positive control, sent last on the same path: an ACK behind a real Record-Route of this dialog does go to
      // the foreign listener. Loopback UDP keeps order, so anything relayed before it has arrived once it has.
      const callId = `control-${peer.sip.port}`;
      const control = rawRequest(mallory.address, 'ACK', `sip:victim@${at(foreign.address)}`, {
        Route: `${tokenRoute(peer, callId, 'caller')}, <sip:${at(foreign.address)};lr>`,
        'Call-ID': callId,
        From: '<sip:mallory@localhost>;tag=caller',
        To: `<sip:victim@${at(foreign.address)}>;tag=callee`,
      });
      mallory.send(control.text, peer.sip);
      controls++;
      await waitFor(() => foreign.datagrams.length >= controls, { timeoutMs: 10_000 });
    }
    const reached = foreign.messages().map((m) => m.headers.get('call-id'));
    expect(reached).toEqual(overlay.peers.map((p) => `control-${p.sip.port}`));
    for (const peer of overlay.peers)
      expect(peer.front.stats.rejected['relay-refused']).toBeGreaterThanOrEqual(30);
  });

  it('takes a client’s outbound-proxy Route naming it (address or domain) and routes by the Request-URI', async () => {
    const peer = overlay.peers[0]!;
    const send = async (method: string, uri: string, route: string) =>
      statusLine(
        await finalResponse(
          mallory,
          rawRequest(mallory.address, method, uri, { Route: route }),
          peer.sip,
          foreign,
        ),
      );
    expect(await send('OPTIONS', 'sip:localhost', '<sip:localhost;lr>')).toBe('SIP/2.0 200 OK');
    expect(await send('INVITE', 'sip:carol@localhost', `<sip:${at(peer.sip)};lr>`)).toBe(
      'SIP/2.0 480 Temporarily Unavailable',
    );
    expect(await send('MESSAGE', `sip:victim@${at(foreign.address)}`, '<sip:localhost;lr>')).toBe(
      'SIP/2.0 403 Forbidden',
    );
  });

  it('recognises its token in the callee’s direction (To tag) but not with another Call-ID or tag', () => {
    const route = tokenRoute(overlay.peers[0]!, 'call-1', 'caller-tag');
    const request = (callId: string, from: string, to: string): SipRequest => ({
      kind: 'request',
      method: 'BYE',
      uri: 'sip:x@127.0.0.1',
      headers: new SipHeaders([
        ['Call-ID', callId],
        ['From', `<sip:a@localhost>;tag=${from}`],
        ['To', `<sip:b@localhost>;tag=${to}`],
      ]),
      body: new Uint8Array(0),
    });
    expect(signer.recognises(route, request('call-1', 'caller-tag', 'callee-tag'))).toBe(true);
    expect(signer.recognises(route, request('call-1', 'callee-tag', 'caller-tag'))).toBe(true);
    expect(signer.recognises(route, request('call-2', 'caller-tag', 'callee-tag'))).toBe(false);
    expect(signer.recognises(route, request('call-1', 'other', 'callee-tag'))).toBe(false);
    expect(
      new RecordRouteSigner(new Uint8Array(32).fill(8)).recognises(
        route,
        request('call-1', 'caller-tag', 'x'),
      ),
    ).toBe(false);
  });

  it('gives an unauthenticated caller the same answer for an unknown user and a known user with no binding', async () => {
    const peer = overlay.peers[1]!;
    for (const method of ['OPTIONS', 'INVITE']) {
      const answers = [];
      for (const user of ['nobody', 'carol']) {
        const raw = await finalResponse(
          mallory,
          rawRequest(mallory.address, method, `sip:${user}@localhost`),
          peer.sip,
        );
        const response = parseSipMessage(Buffer.from(raw));
        answers.push({ line: statusLine(raw), headers: [...response.headers].map((h) => h.name) });
      }
      expect(answers[0]).toEqual({
        line: 'SIP/2.0 480 Temporarily Unavailable',
        headers: answers[1]!.headers,
      });
      expect(answers[1]!.line).toBe(answers[0]!.line);
    }
  });
});

describe('calls to other domains (foreignCalls)', () => {
  it('off by default: a registered user’s request to another domain is 403 and goes nowhere', async () => {
    const peer = overlay.peers[0]!;
    const { ua, registrar } = await overlay.client(peer, 'sip:alice@localhost', 'wonderland');
    expect((await registrar.register(600)).status).toBe(200);
    const before = foreign.datagrams.length;
    const request = newRequest(
      ua,
      'MESSAGE',
      `sip:bob@${at(foreign.address)}`,
      [['From', '<sip:alice@localhost>;tag=a1']],
      'hi',
    );
    expect((await transact(ua.layer, request, peer.sip)).at(-1)!.status).toBe(403);
    expect(foreign.datagrams.length).toBe(before);
    await registrar.register(0, { contact: '*' });
  });

  it('on: forwarded for a user on its registered flow, 403 for anyone else', async () => {
    const other = await TestOverlay.start(1, { foreignCalls: true });
    const listener = await UdpListener.open();
    try {
      await other.addUser('alice', 'wonderland');
      const peer = other.peers[0]!;
      const { ua, registrar } = await other.client(peer, 'sip:alice@localhost', 'wonderland');
      expect((await registrar.register(600)).status).toBe(200);
      const uri = `sip:bob@${at(listener.address)}`;
      // Mallory claims to be alice, but not from alice's flow.
      const spoofed = rawRequest(
        mallory.address,
        'MESSAGE',
        uri,
        { From: '<sip:alice@localhost>;tag=m' },
        'hi',
      );
      expect(statusLine(await finalResponse(mallory, spoofed, peer.sip))).toBe('SIP/2.0 403 Forbidden');
      // Her own MESSAGE is challenged (407) like any call of a user of the domain, then sent with the answer.
      const first = newRequest(ua, 'MESSAGE', uri, [['From', '<sip:alice@localhost>;tag=a2']], 'hi');
      const challenge = (await transact(ua.layer, first, peer.sip)).at(-1)!;
      expect(challenge.status).toBe(407);
      const params = challengeParams(challenge, 'proxy-authenticate')!;
      const proxyAuthorization = digestAuthorization({
        username: 'alice',
        realm: 'localhost',
        password: 'wonderland',
        nonce: params.get('nonce')!,
        uri,
        nc: '00000001',
        method: 'MESSAGE',
      });
      const request = newRequest(
        ua,
        'MESSAGE',
        uri,
        [
          ['From', '<sip:alice@localhost>;tag=a2'],
          ['Call-ID', first.headers.get('call-id')!],
          ['CSeq', '2 MESSAGE'],
          ['Proxy-Authorization', proxyAuthorization],
        ],
        'hi',
      );
      ua.layer.sendRequest(request, peer.sip, {
        response: () => undefined,
        timeout: () => undefined,
        transportError: () => undefined,
      });
      await waitFor(() => listener.messages().length > 0, { timeoutMs: 10_000 });
      const [arrived] = listener.messages();
      expect(arrived).toMatchObject({ kind: 'request', method: 'MESSAGE', uri });
      expect(arrived!.headers.get('call-id')).toBe(request.headers.get('call-id'));
      expect(
        listener.messages().every((m) => m.headers.get('call-id') === request.headers.get('call-id')),
      ).toBe(true);
    } finally {
      listener.close();
      await other.close();
    }
  });

  it('resolves a host name of another domain in the family of the node’s socket', async () => {
    expect(await resolveUri('sip:bob@localhost:5099', { address: '127.0.0.1', port: 5060 })).toEqual({
      address: '127.0.0.1',
      port: 5099,
    });
    expect(await resolveUri('sip:bob@192.0.2.7', { address: '127.0.0.1', port: 5060 })).toEqual({
      address: '192.0.2.7',
      port: 5060,
    });
    expect(
      await resolveUri('sip:bob@no-such-host.invalid', { address: '127.0.0.1', port: 5060 }),
    ).toBeUndefined();
  });
});
