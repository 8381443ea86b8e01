import type { IncomingInvite } from '@xpp/session-sdp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestOverlay } from './sipp/overlay.js';

// Issue 20 item 3: a client with two flows on two peers (RFC 5626 §4.2, reg-id 1 and 2) fails over between them.
let overlay: TestOverlay;
beforeAll(async () => {
  overlay = await TestOverlay.start(3);
  await overlay.addUser('alice', 'wonderland');
  await overlay.addUser('bob', 'builder');
});
afterAll(async () => {
  await overlay.close();
});

const OFFER = { contentType: 'application/sdp', body: 'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n' };
const INSTANCE = ';+sip.instance="<urn:uuid:00000000-0000-4000-8000-0000000000bb>"';

describe('Outbound failover between peers', () => {
  it('a 430 from the peer whose flow died sends the INVITE to the client’s flow on another peer', async () => {
    const [a, b, c] = overlay.peers as [
      (typeof overlay.peers)[0],
      (typeof overlay.peers)[0],
      (typeof overlay.peers)[0],
    ];
    const alice = await overlay.client(a, 'sip:alice@localhost', 'wonderland');
    const rang: string[] = [];
    const busy = (name: string) => (invite: IncomingInvite) => {
      rang.push(name);
      invite.reject(486);
    };
    const onC = await overlay.client(c, 'sip:bob@localhost', 'builder', `${INSTANCE};reg-id=2`, {
      onInvite: busy('flow 2 at peer 3'),
    });
    const onB = await overlay.client(b, 'sip:bob@localhost', 'builder', `${INSTANCE};reg-id=1`, {
      onInvite: busy('flow 1 at peer 2'),
    });
    expect((await alice.registrar.register(600)).status).toBe(200);
    expect((await onC.registrar.register(600)).status).toBe(200);
    // Registered last: the freshest binding, the one an INVITE takes while its flow lives.
    const ok = await onB.registrar.register(600);
    expect(ok.status).toBe(200);
    expect(ok.headers.get('flow-timer')).toBe('29');
    const failed: string[] = [];
    b.front.on('flow-failed', (e) => failed.push(`${e.aor} ${e.reason}`));
    // Peer 2 loses the flow (as when its connection closes): only peer 2 knows it.
    b.front.connectionClosed(onB.ua.layer.local);
    expect(failed).toEqual(['sip:bob@localhost closed']);
    const statuses: number[] = [];
    a.front.on('call', (e) => statuses.push(e.status));
    const outcome = await alice.ua.invite('sip:bob@localhost', OFFER, { nextHop: a.sip }).then(
      () => 200,
      (error: { status?: number }) => error.status ?? 0,
    );
    expect(outcome).toBe(486);
    expect(rang).toEqual(['flow 2 at peer 3']);
    expect(b.front.stats.rejected['flow-failed']).toBe(1);
  });
});
