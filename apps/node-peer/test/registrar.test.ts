import { systemClock, type Clock } from '@xpp/reliability';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '@xpp/reliability/testing';
import { parseDigestParams } from '../src/registrar/authorization.js';
import { RegisterClient } from '../src/sip/register-client.js';
import { DOMAIN, TestOverlay } from './sipp/overlay.js';

let overlay: TestOverlay;
beforeAll(async () => {
  overlay = await TestOverlay.start(3);
  await overlay.addUser('alice', 'wonderland');
  await overlay.addUser('bob', 'builder');
});
afterAll(async () => {
  await overlay.close();
});

const contactsOf = (response: { headers: { getAll(name: string): string[] } }) =>
  response.headers.getAll('contact').map((c) => c.replace(/;expires=\d+$/, ''));

describe('registrar (RFC 3261 §10, RFC 7616 digest against overlay credentials) over real UDP', () => {
  it('challenges with MD5 alone by default (what every client reads), qop=auth, realm = the domain', async () => {
    const peer = overlay.peers[1]!;
    const { registrar } = await overlay.client(peer, 'sip:alice@localhost', undefined);
    const response = await registrar.register(600);
    expect(response.status).toBe(401);
    const challenges = response.headers.getAll('www-authenticate').map((v) => parseDigestParams(v)!);
    expect(challenges.map((c) => c.get('algorithm'))).toEqual(['MD5']);
    for (const c of challenges) {
      expect(c.get('realm')).toBe(DOMAIN);
      expect(c.get('qop')).toBe('auth');
      expect(c.get('nonce')).toMatch(/^[A-Za-z0-9_-]{40,}$/);
      expect(c.has('stale')).toBe(false);
    }
    expect(peer.front.stats.challenges).toBeGreaterThanOrEqual(1);
  });

  it('answers a right digest 200 listing the contact, stores the binding in the overlay with this peer as flow peer', async () => {
    const peer = overlay.peers[1]!;
    const events: string[] = [];
    const off = peer.front.on('registered', (e) => events.push(`${e.aor} ${e.contact} ${e.expires}`));
    const { registrar, contact } = await overlay.client(peer, 'sip:alice@localhost', 'wonderland');
    const response = await registrar.register(600);
    off();
    expect(response.status).toBe(200);
    expect(response.headers.getAll('contact')).toContain(`<${contact}>;expires=600`);
    expect(events).toEqual([`sip:alice@localhost ${contact} 600`]);
    // Any peer finds it in the overlay, with peer 1 holding the flow.
    const found = await overlay.peers[2]!.front.location!.lookup('sip:alice@localhost');
    expect(found.map((b) => [b.contact, Buffer.from(b.flowPeer).toString('hex')])).toContainEqual([
      contact,
      peer.node.id,
    ]);
    expect(peer.front.stats.bindings).toBeGreaterThanOrEqual(1);
    expect(peer.front.stats.registrations).toBeGreaterThanOrEqual(1);
  });

  it('answers a wrong password, an unknown user and binding another user’s AOR alike: a fresh 401', async () => {
    const peer = overlay.peers[2]!;
    const before = peer.front.stats.authFailures;
    const wrong = await overlay.client(peer, 'sip:alice@localhost', 'guess');
    expect((await wrong.registrar.register(600)).status).toBe(401);
    const unknown = await overlay.client(peer, 'sip:nobody@localhost', 'x');
    expect((await unknown.registrar.register(600)).status).toBe(401);
    // Alice's own username and password, but Bob's AOR in To: the credential checked is Bob's.
    const { ua } = await overlay.client(peer, 'sip:bob@localhost', undefined);
    const impostor = new RegisterClient({
      layer: ua.layer,
      registrar: peer.sip,
      aor: 'sip:bob@localhost',
      username: 'alice',
      password: 'wonderland',
      contact: `<${ua.contactUri}>`,
    });
    expect((await impostor.register(600)).status).toBe(401);
    expect(peer.front.stats.authFailures).toBe(before + 3);
    expect(await overlay.peers[0]!.front.location!.lookup('sip:bob@localhost')).toEqual([]);
    expect(await overlay.peers[0]!.front.location!.lookup('sip:nobody@localhost')).toEqual([]);
  });

  it('bounds expiry: 423 with Min-Expires below 60 s, capped at 3600 s; Expires: 0 and * remove', async () => {
    const peer = overlay.peers[0]!;
    const { registrar, contact } = await overlay.client(peer, 'sip:bob@localhost', 'builder');
    const brief = await registrar.register(30);
    expect(brief.status).toBe(423);
    expect(brief.headers.get('min-expires')).toBe('60');
    const long = await registrar.register(100_000);
    expect(long.status).toBe(200);
    expect(long.headers.getAll('contact')).toEqual([`<${contact}>;expires=3600`]);
    const second = `<sip:bob@127.0.0.1:40000>`;
    expect(contactsOf(await registrar.register(600, { contact: second }))).toEqual(
      expect.arrayContaining([`<${contact}>`, second]),
    );
    // Expires: 0 removes that contact only.
    const removed = await registrar.register(0, { contact: second });
    expect(removed.status).toBe(200);
    expect(contactsOf(removed)).toEqual([`<${contact}>`]);
    const all = await registrar.register(0, { contact: '*' });
    expect(all.status).toBe(200);
    expect(all.headers.getAll('contact')).toEqual([]);
    expect(await overlay.peers[2]!.front.location!.lookup('sip:bob@localhost')).toEqual([]);
    expect((await registrar.register(600, { contact: '*' })).status).toBe(400);
  });

  it('RFC 5626: one binding per +sip.instance / reg-id, replaced by a REGISTER from a new contact', async () => {
    const peer = overlay.peers[2]!;
    const instance = ';+sip.instance="<urn:uuid:00000000-0000-0000-0000-000000000001>";reg-id=1';
    const { registrar } = await overlay.client(peer, 'sip:bob@localhost', 'builder', instance);
    const first = await registrar.register(600, { contact: `<sip:bob@127.0.0.1:41000>${instance}` });
    expect(first.status).toBe(200);
    expect(first.headers.get('require')).toBe('outbound');
    const moved = await registrar.register(600, { contact: `<sip:bob@127.0.0.1:41001>${instance}` });
    expect(contactsOf(moved)).toEqual(['<sip:bob@127.0.0.1:41001>']);
    const other = await registrar.register(600, {
      contact:
        '<sip:bob@127.0.0.1:41002>;+sip.instance="<urn:uuid:00000000-0000-0000-0000-000000000001>";reg-id=2',
    });
    expect(contactsOf(other).sort()).toEqual(['<sip:bob@127.0.0.1:41001>', '<sip:bob@127.0.0.1:41002>']);
    await registrar.register(0, { contact: '*' });
  });

  // Changed with REGISTER-BIND (issue 16): the owner checks the digest and stores the binding in one step, so a
  // first REGISTER no longer reads the credential (one GET, of the AOR's bindings) and writes by REGISTER-BIND.
  it('a refresh costs one routed REGISTER-BIND: its 200 lists the bindings this peer holds, a first REGISTER here reads the AOR', async () => {
    await overlay.addUser('carol', 'carroll');
    const [elsewhere, here, reader] = [overlay.peers[0]!, overlay.peers[2]!, overlay.peers[1]!];
    const a = '<sip:carol@127.0.0.1:42000>';
    const b = '<sip:carol@127.0.0.1:42001>';
    const far = await overlay.client(elsewhere, 'sip:carol@localhost', 'carroll');
    expect(contactsOf(await far.registrar.register(600, { contact: a }))).toEqual([a]);
    const { registrar } = await overlay.client(here, 'sip:carol@localhost', 'carroll');
    const ops = () => here.node.stats.requests;
    const before = ops();
    // Carol's first REGISTER at this peer: the binding checked and stored by the owner (REGISTER-BIND: HA1 never
    // read here), then the AOR read back (A, stored elsewhere, too).
    const first = await registrar.register(600, { contact: b });
    expect(contactsOf(first).sort()).toEqual([a, b]);
    expect(ops()['GET ok'] ?? 0).toBe((before['GET ok'] ?? 0) + 1);
    expect(ops()['REGISTER-BIND ok'] ?? 0).toBe((before['REGISTER-BIND ok'] ?? 0) + 1);
    const middle = ops();
    // A refresh: one REGISTER-BIND (the overlay's expiry follows), answered from the flows held here, no read.
    const refresh = await registrar.register(600, { contact: b });
    expect(refresh.status).toBe(200);
    expect(refresh.headers.getAll('contact')).toEqual([`${b};expires=600`]);
    expect(ops()['GET ok'] ?? 0).toBe(middle['GET ok'] ?? 0);
    expect(ops()['REGISTER-BIND ok'] ?? 0).toBe((middle['REGISTER-BIND ok'] ?? 0) + 1);
    expect(ops()['PUT ok'] ?? 0).toBe(middle['PUT ok'] ?? 0);
    const stored = await reader.front.location!.lookup('sip:carol@localhost');
    expect(stored.map((x) => `<${x.contact}>`).sort()).toEqual([a, b]);
    // Removing B here answers from the flows too: nothing of Carol's is held here any more.
    const removed = await registrar.register(0, { contact: b });
    expect(removed.headers.getAll('contact')).toEqual([]);
    expect((await reader.front.location!.lookup('sip:carol@localhost')).map((x) => `<${x.contact}>`)).toEqual(
      [a],
    );
    await far.registrar.register(0, { contact: '*' });
  });

  it('a listener that throws is counted and changes nothing', async () => {
    const peer = overlay.peers[0]!;
    const off = peer.front.on('registered', () => {
      throw new Error('listener bug');
    });
    const before = peer.front.stats.listenerErrors;
    const { registrar } = await overlay.client(peer, 'sip:alice@localhost', 'wonderland');
    expect((await registrar.register(600)).status).toBe(200);
    off();
    expect(peer.front.stats.listenerErrors).toBe(before + 1);
    await registrar.register(0, { contact: '*' });
  });

  it('re-challenges a stale nonce with stale=true', async () => {
    const stale = new TestOverlay();
    try {
      // A clock that gains 5 ms at every reading: the nonce is older than its 1-ms lifetime when the answer comes
      // back, however fast loopback is (on the real clock a sub-millisecond round trip made the nonce still fresh).
      let gained = 0;
      const fast: Clock = { ...systemClock, now: () => systemClock.now() + (gained += 5) };
      const peer = await stale.addPeer({ nonceLifetimeMs: 1, clock: fast });
      peer.node.bootstrap();
      await stale.addUser('alice', 'wonderland');
      const { registrar } = await stale.client(peer, 'sip:alice@localhost', 'wonderland');
      const response = await registrar.register(600);
      expect(response.status).toBe(401);
      expect(
        response.headers
          .getAll('www-authenticate')
          .every((v) => parseDigestParams(v)?.get('stale') === 'true'),
      ).toBe(true);
    } finally {
      await stale.close();
    }
  });

  it('drops the binding of a flow that was not refreshed before expiry', async () => {
    const short = new TestOverlay();
    try {
      const peer = await short.addPeer({ expiry: { minExpires: 1 }, flowSweepMs: 50 });
      peer.node.bootstrap();
      await short.addUser('alice', 'wonderland');
      const gone: string[] = [];
      peer.front.on('unregistered', (e) => gone.push(`${e.contact} ${e.reason}`));
      const { registrar, contact } = await short.client(peer, 'sip:alice@localhost', 'wonderland');
      expect((await registrar.register(2)).status).toBe(200);
      expect(peer.front.stats.bindings).toBe(1);
      await waitFor(() => gone.length > 0, { timeoutMs: 10_000 });
      expect(gone).toEqual([`${contact} flow-expired`]);
      expect(peer.front.stats.bindings).toBe(0);
      await waitFor(async () => (await peer.front.location!.lookup('sip:alice@localhost')).length === 0, {
        timeoutMs: 10_000,
      });
    } finally {
      await short.close();
    }
  });
});
