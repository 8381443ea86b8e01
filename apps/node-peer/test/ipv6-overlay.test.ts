import { parseNameAddr, parseSipUri, parseVia, type SipCall, type SipRequest } from '@xpp/session-sdp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestOverlay } from './sipp/overlay.js';

// Issue #20 item 6: three peers and their clients on ::1, over real UDP. The overlay forms (XPP sessions set up by
// SIP whose SDP says `c=IN IP6 ::1`), two clients register at different peers and call each other through both.
let overlay: TestOverlay;
beforeAll(async () => {
  overlay = await TestOverlay.startOn('::1', 3);
  await overlay.addUser('alice', 'wonderland');
  await overlay.addUser('bob', 'builder');
});
afterAll(async () => {
  await overlay.close();
});

const OFFER = {
  contentType: 'application/sdp',
  body: 'v=0\r\no=- 1 1 IN IP6 ::1\r\ns=-\r\nc=IN IP6 ::1\r\nt=0 0\r\n',
};

describe('an overlay on IPv6 loopback', () => {
  it('forms: every peer bound to ::1 is a peer with sessions to the others', () => {
    for (const peer of overlay.peers) {
      expect(peer.sip.address).toBe('::1');
      expect(peer.node.state).toBe('peer');
      expect(parseSipUri(peer.node.ua.contactUri)?.host).toBe('::1');
      expect(peer.node.ua.contactUri).toMatch(/@\[::1\]:\d+$/);
    }
    expect(overlay.peers.every((p) => p.node.endpoint.stats.sessions > 0)).toBe(true);
  });

  it('registers clients and completes a call between peers; Via, Record-Route and Contact bracketed', async () => {
    const [, a, b] = overlay.peers as [never, (typeof overlay.peers)[0], (typeof overlay.peers)[0]];
    const invites: SipRequest[] = [];
    const answered: Promise<SipCall>[] = [];
    const alice = await overlay.client(a, 'sip:alice@localhost', 'wonderland');
    const bob = await overlay.client(b, 'sip:bob@localhost', 'builder', '', {
      onInvite: (invite) => {
        invites.push(invite.request);
        answered.push(invite.accept(OFFER));
      },
    });
    expect((await alice.registrar.register(600)).status).toBe(200);
    expect((await bob.registrar.register(600)).status).toBe(200);
    expect(bob.contact).toMatch(/^sip:bob@\[::1\]:\d+$/);
    const call = await alice.ua.invite('sip:bob@localhost', OFFER, { nextHop: a.sip });
    const callee = await answered[0]!;
    const invite = invites[0]!;
    // Both peers on the path: their Vias and Record-Routes carry [::1], and parse back to ::1.
    const vias = invite.headers.getAll('via').map((v) => parseVia(v));
    expect(vias).toHaveLength(3);
    expect(vias.every((v) => v?.host === '::1')).toBe(true);
    const routes = invite.headers.getAll('record-route');
    expect(routes).toHaveLength(2);
    for (const route of routes) {
      expect(route).toMatch(/^<sip:\[::1\]:\d+;lr/);
      expect(parseSipUri(parseNameAddr(route)?.uri ?? '')?.host).toBe('::1');
    }
    expect(parseSipUri(invite.uri)?.host).toBe('::1');
    await call.bye();
    expect(await callee.ended).toBe('remote-bye');
  });
});
