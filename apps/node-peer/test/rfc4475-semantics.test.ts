import { RFC4475_PARSEABLE } from '@xpp/session-sdp/testing';
import { parseSipMessage, type SipRequest, type SipResponse } from '@xpp/session-sdp';
import { waitFor } from '@xpp/reliability/testing';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { TestOverlay, type TestPeer } from './sipp/overlay.js';
import { challengeParams, digestAuthorization, RawSipClient } from './support/raw-sip-client.js';
import { UdpListener } from './support/raw-sip.js';

// RFC 4475 §3.3 (application-layer semantics) and the Require / Proxy-Require rules (RFC 3261 §8.2.2.3, §16.3 step
// 5) against a one-peer overlay on its defaults, as raw UDP. The node is a UAS for REGISTER and for requests to
// itself (no user part), a proxy for everything else: each case says which role the RFC's expectation is for.
let overlay: TestOverlay;
let peer: TestPeer;
let raw: UdpListener;
let callee: RawSipClient;

beforeAll(async () => {
  overlay = await TestOverlay.start(1);
  peer = overlay.peers[0]!;
  await overlay.addUser('watson', 'come-here');
  await overlay.addUser('user', 'escaped');
  await overlay.addUser('callee', 'answers');
  raw = await UdpListener.open();
  callee = await RawSipClient.open('127.0.0.41');
  callee.answer = true;
  expect((await callee.register(peer.sip, 'sip:callee@localhost', 'answers')).final.status).toBe(200);
});
afterAll(async () => {
  raw?.close();
  callee?.close();
  await overlay.close();
});

let sent = 0;
/**
 * A §3.3 fixture as this test sends it: its Via this test's socket (with `rport`, a fresh branch), and the RFC's
 * `example.com` names replaced as `names` says (the served domain is `localhost`).
 */
function fixture(name: string, names: Record<string, string> = {}, extra: string[] = []): string {
  const found = RFC4475_PARSEABLE.find((m) => m.name === name);
  if (found === undefined) throw new Error(`no fixture ${name}`);
  let text = Buffer.from(found.bytes).toString('latin1');
  for (const [from, to] of Object.entries(names)) text = text.split(from).join(to);
  const here = `SIP/2.0/UDP ${raw.address.address}:${raw.address.port};rport;`;
  text = text.replace('SIP/2.0/UDP 192.0.2.15;branch=z9hG4bK-', `${here}branch=z9hG4bK-${++sent}-`);
  // The CSeq goes up with every send, so that a re-sent fixture is a new request of the same registration.
  text = text.replace(/^CSeq: (\d+)/m, (_all, n: string) => `CSeq: ${Number(n) + sent}`);
  if (extra.length > 0) text = text.replace('\r\n\r\n', `\r\n${extra.join('\r\n')}\r\n\r\n`);
  return text;
}

const callIdOf = (text: string) => /^Call-ID: (.*)$/m.exec(text)![1]!.trim();

/** Sends `text` and resolves with its final response (the first after any already received for that Call-ID). */
async function final(text: string): Promise<SipResponse> {
  const callId = callIdOf(text);
  const finals = () =>
    raw
      .messages()
      .filter((m): m is SipResponse => m.kind === 'response' && m.status >= 200)
      .filter((m) => m.headers.get('call-id') === callId && m.headers.get('cseq') === cseqOf(text));
  raw.send(text, peer.sip);
  await waitFor(() => finals().length > 0, { timeoutMs: 5_000 });
  return finals()[0]!;
}
const cseqOf = (text: string) => /^CSeq: (.*)$/m.exec(text)![1]!.trim();

/** A REGISTER fixture answered: the 401's challenge answered for `user` (MD5, the default). */
async function register(name: string, user: string, password: string, names: Record<string, string>) {
  const challenge = await final(fixture(name, names));
  expect(challenge.status).toBe(401);
  const params = challengeParams(challenge)!;
  const authorization = digestAuthorization({
    username: user,
    realm: params.get('realm')!,
    password,
    nonce: params.get('nonce')!,
    uri: 'sip:localhost',
    nc: '00000001',
  });
  return final(fixture(name, names, [`Authorization: ${authorization}`]));
}

const server = () => `sip:${peer.sip.address}:${peer.sip.port}`;
describe('Require and Proxy-Require (RFC 3261 §8.2.2.3, §16.3 step 5; RFC 4475 §3.3.5 bext01)', () => {
  it('as a UAS (a request to the node itself): 420 listing the Require tags, not the Proxy-Require ones', async () => {
    const answer = await final(fixture('bext01', { 'sip:user@example.com': server() }));
    expect(answer.status).toBe(420);
    expect(answer.reason).toBe('Bad Extension');
    expect(answer.headers.get('unsupported')).toBe('nobodySupportsThis, norThisOneEither');
    expect(peer.front.stats.rejected['bad-extension']).toBeGreaterThanOrEqual(1);
  });

  it('as a proxy (a request for a user): 420 listing the Proxy-Require tags, and nothing reaches the user', async () => {
    const text = fixture('bext01', { 'sip:user@example.com': 'sip:callee@localhost' });
    const answer = await final(text);
    expect(answer.status).toBe(420);
    expect(answer.headers.get('unsupported')).toBe('noProxySupportsThis, norAnyOtherProxy');
    await sleep(200);
    expect(callee.received.filter((r) => r.headers.get('call-id') === callIdOf(text))).toEqual([]);
  });

  it("as a proxy, Require is the far end's: a request for a user that only Requires goes through", async () => {
    const before = callee.received.length;
    const invite = await callee.request(peer.sip, 'INVITE', 'sip:callee@localhost', {
      From: '<sip:caller@example.net>;tag=req-only',
      Require: 'nobodySupportsThis',
    });
    expect(invite.status).toBe(200);
    expect(callee.received.slice(before).map((r) => r.headers.get('require'))).toContain(
      'nobodySupportsThis',
    );
  });

  it('a REGISTER (the registrar is a UAS) that Requires path gets 420; one that Requires outbound goes on', async () => {
    const names = { 'sip:example.com': 'sip:localhost', '@example.com': '@localhost' };
    const path = await final(fixture('cparam02', names, ['Require: path']));
    expect(path.status).toBe(420);
    expect(path.headers.get('unsupported')).toBe('path');
    expect((await final(fixture('cparam02', names, ['Require: outbound']))).status).toBe(401);
  });

  it('never for CANCEL or ACK, whose Require and Proxy-Require are ignored', async () => {
    const cancel = fixture('bext01', { 'sip:user@example.com': 'sip:callee@localhost', OPTIONS: 'CANCEL' });
    expect((await final(cancel)).status).toBe(481);
    const rejected = peer.front.stats.rejected['bad-extension'] ?? 0;
    raw.send(fixture('bext01', { 'sip:user@example.com': 'sip:callee@localhost', OPTIONS: 'ACK' }), peer.sip);
    await sleep(200);
    expect(peer.front.stats.rejected['bad-extension'] ?? 0).toBe(rejected);
  });

  it('an unknown method for a user of the domain is proxied like any request; to the node itself it is 501', async () => {
    const before = callee.received.length;
    void callee.request(peer.sip, 'NEWMETHOD', 'sip:callee@localhost', {}, 1_000).catch(() => undefined);
    await waitFor(() => callee.received.slice(before).some((r) => r.method === 'NEWMETHOD'), {
      timeoutMs: 2_000,
    });
    const toNode = await callee.request(peer.sip, 'NEWMETHOD', server());
    expect(toNode.status).toBe(501);
    expect(toNode.headers.get('allow')).toContain('INVITE');
  });

  it('OPTIONS to the node: 200 with Allow and Supported (RFC 3261 §11.2), Supported naming only outbound', async () => {
    const answer = await callee.request(peer.sip, 'OPTIONS', server());
    expect(answer.status).toBe(200);
    expect(answer.headers.get('supported')).toBe('outbound');
    expect(answer.headers.get('allow')).toContain('REGISTER');
  });
});

describe('RFC 4475 §3.3 against the node on its defaults', () => {
  it('zeromf (§3.3.11): to the node, an endpoint, 200; for a user, as a proxy, 483 and not forwarded', async () => {
    expect((await final(fixture('zeromf', { 'sip:user@example.com': server() }))).status).toBe(200);
    const text = fixture('zeromf', { 'sip:user@example.com': 'sip:callee@localhost' });
    expect((await final(text)).status).toBe(483);
    await sleep(200);
    expect(callee.received.filter((r) => r.headers.get('call-id') === callIdOf(text))).toEqual([]);
  });

  it('regaut01 (§3.3.7): a registrar that authenticates answers 401 with a Digest challenge of its own', async () => {
    const answer = await final(
      fixture('regaut01', { 'sip:example.com': 'sip:localhost', '@example.com': '@localhost' }),
    );
    expect(answer.status).toBe(401);
    expect(answer.headers.get('www-authenticate')).toMatch(/^Digest /);
  });

  it('cparam01 (§3.3.12): unknownparam is the header field’s, never part of the bound URI', async () => {
    const names = { 'sip:example.com': 'sip:localhost', '@example.com': '@localhost' };
    const ok = await register('cparam01', 'watson', 'come-here', names);
    expect(ok.status).toBe(200);
    expect(ok.headers.getAll('contact')).toEqual([
      expect.stringMatching(/^<sip:\+19725552222@gw1\.example\.net>;/),
    ]);
    const bindings = await peer.front.location!.lookup('sip:watson@localhost');
    expect(bindings.map((b) => b.contact)).toEqual(['sip:+19725552222@gw1.example.net']);
  });

  it('cparam02 (§3.3.13): inside angle brackets unknownparam is the URI’s, bound and shown with it', async () => {
    const names = { 'sip:example.com': 'sip:localhost', '@example.com': '@localhost' };
    const ok = await register('cparam02', 'watson', 'come-here', names);
    expect(ok.status).toBe(200);
    expect(ok.headers.getAll('contact').join('\n')).toContain(
      '<sip:+19725552222@gw1.example.net;unknownparam>;',
    );
    const bindings = await peer.front.location!.lookup('sip:watson@localhost');
    expect(bindings.map((b) => b.contact)).toContain('sip:+19725552222@gw1.example.net;unknownparam');
  });

  it('regescrt (§3.3.14): bound with its escaped header; requests to it carry neither that header nor a Route', async () => {
    const names = { 'sip:example.com': 'sip:localhost', 'sip:user@example.com': 'sip:user@localhost' };
    const ok = await register('regescrt', 'user', 'escaped', names);
    expect(ok.status).toBe(200);
    const contact = 'sip:user@example.com?Route=%3Csip:sip.example.com%3E'.replace(
      'example.com',
      'localhost',
    );
    expect(ok.headers.getAll('contact').join('\n')).toContain(`<${contact}>;`);
    expect((await peer.front.location!.lookup('sip:user@localhost')).map((b) => b.contact)).toEqual([
      contact,
    ]);
    // A request for the user goes over the flow (this test's socket) to the contact as a Request-URI: a
    // Request-URI may carry no headers (§3.1.2.11), and the registrant does not choose the Route set.
    // The flow (this test's socket) never answers: the MESSAGE is only looked at where it arrives.
    void callee
      .request(peer.sip, 'MESSAGE', 'sip:user@localhost', { From: '<sip:caller@example.net>;tag=esc' }, 1_000)
      .catch(() => undefined);
    const delivered = () =>
      raw.messages().filter((m): m is SipRequest => m.kind === 'request' && m.method === 'MESSAGE');
    await waitFor(() => delivered().length > 0, { timeoutMs: 2_000 });
    expect(new Set(delivered().map((r) => r.uri))).toEqual(new Set(['sip:user@localhost']));
    expect(delivered().some((r) => r.headers.has('route'))).toBe(false);
  });

  it.each([
    ['invut', 'application/unknownformat'],
    ['sdp01', 'application/sdp'],
  ])(
    '%s (§3.3.6, §3.3.15): as a proxy, delivered like any INVITE, body and Accept untouched',
    async (name, type) => {
      const text = fixture(name, { 'sip:user@example.com': 'sip:callee@localhost' });
      const answer = await final(text);
      expect(answer.status).toBe(200);
      const [delivered] = callee.received.filter((r) => r.headers.get('call-id') === callIdOf(text));
      expect(delivered?.headers.get('content-type')).toBe(type);
      expect(delivered?.headers.get('accept')).toBe('text/nobodyKnowsThis');
      const original = parseSipMessage(Buffer.from(text, 'latin1'));
      expect(Buffer.from(delivered!.body).equals(Buffer.from(original.body))).toBe(true);
    },
  );

  it('bcast (§3.3.10): a response to be passed on to the broadcast address is dropped and counted', async () => {
    const layer = peer.node.ua.layer;
    const send = vi.spyOn(layer, 'sendStateless');
    const next = await UdpListener.open();
    try {
      // As a 2xx retransmission of an INVITE we forwarded would look: our Via on top, then the next hop's.
      const ours = `Via: SIP/2.0/UDP ${peer.sip.address}:${peer.sip.port};branch=z9hG4bK-bcast-top`;
      const bcast = Buffer.from(RFC4475_PARSEABLE.find((m) => m.name === 'bcast')!.bytes)
        .toString('latin1')
        .replace('Via: SIP/2.0/UDP 192.0.2.198;branch=z9hG4bK-bcast-top', ours);
      const stray = layer.stats.strayResponses;
      raw.send(bcast, peer.sip);
      await waitFor(() => layer.stats.strayResponses > stray, { timeoutMs: 2_000 });
      expect(send.mock.calls.filter(([, to]) => to.address === '255.255.255.255')).toEqual([]);
      // The same response with a unicast next hop is passed on: what the drop above withheld.
      raw.send(bcast.replace('255.255.255.255', `127.0.0.1:${next.address.port}`), peer.sip);
      await waitFor(() => next.messages().length > 0, { timeoutMs: 2_000 });
    } finally {
      send.mockRestore();
      next.close();
    }
  });
});
