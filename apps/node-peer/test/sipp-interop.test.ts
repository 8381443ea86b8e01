import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestOverlay } from './sipp/overlay.js';
import { freeUdpPort, runSipp, sippVersion, type SippResult } from './sipp/run.js';

let overlay: TestOverlay;
beforeAll(async () => {
  expect(sippVersion()).toContain('SIPp');
  // sipp 3.6 reads only the first challenge and knows only MD5: this overlay offers MD5 first.
  // Certified peers: peer A asserts the caller it challenged to peer B (XPP-Identity), which believes only that.
  overlay = await TestOverlay.certified(3, { digestAlgorithms: ['MD5', 'SHA-256'] });
  await overlay.addUser('alice', 'wonderland');
  await overlay.addUser('bob', 'builder');
});
afterAll(async () => {
  await overlay.close();
});

const ok = (run: SippResult) => expect(run.code, `${run.output}\n${run.logs}`).toBe(0);

describe('interop with sipp (Debian sip-tester, unmodified) against a 3-peer overlay', () => {
  it('REGISTER with digest to one peer: 401, then 200 listing the binding, stored in the overlay', async () => {
    const peer = overlay.peers[1]!;
    const port = await freeUdpPort();
    const run = await runSipp('register.xml', {
      service: 'alice',
      port,
      remote: peer.sip,
      auth: { username: 'alice', password: 'wonderland' },
    });
    ok(run);
    expect(run.logs).toContain(`bound: Contact: <sip:alice@127.0.0.1:${port}>;expires=600`);
    const bindings = await overlay.peers[2]!.front.location!.lookup('sip:alice@localhost');
    expect(bindings.map((b) => b.contact)).toContain(`sip:alice@127.0.0.1:${port}`);
  });

  it('a wrong password: 401, then a fresh 401, and no binding', async () => {
    const peer = overlay.peers[0]!;
    const before = peer.front.stats.authFailures;
    const run = await runSipp('register-wrong-password.xml', {
      service: 'bob',
      port: await freeUdpPort(),
      remote: peer.sip,
      auth: { username: 'bob', password: 'not-the-password' },
    });
    ok(run);
    expect(peer.front.stats.authFailures).toBe(before + 1);
    expect(await peer.front.location!.lookup('sip:bob@localhost')).toEqual([]);
  });

  it('INVITE from a sipp UAC registered at peer A to a sipp UAS registered at peer B: set up and torn down', async () => {
    const [a, b] = [overlay.peers[1]!, overlay.peers[2]!];
    const callerPort = await freeUdpPort();
    const calleePort = await freeUdpPort();
    const registrations = [
      { user: 'alice', password: 'wonderland', port: callerPort, peer: a },
      { user: 'bob', password: 'builder', port: calleePort, peer: b },
    ];
    for (const { user, password, port, peer } of registrations) {
      ok(
        await runSipp('register.xml', {
          service: user,
          port,
          remote: peer.sip,
          auth: { username: user, password },
        }),
      );
    }
    const calls: string[] = [];
    a.front.on('call', (e) => calls.push(`A ${e.method} ${e.aor} ${e.status}`));
    // The callee listens on the port its flow was registered from; the caller's INVITE retransmits until it does.
    const callee = runSipp('uas.xml', { service: 'bob', port: calleePort });
    const caller = await runSipp('uac.xml', {
      service: 'bob',
      port: callerPort,
      remote: a.sip,
      auth: { username: 'alice', password: 'wonderland' },
    });
    ok(caller);
    const uas = await callee;
    ok(uas);
    // Both peers Record-Routed: the callee saw them, and the caller's ACK and BYE came back through them.
    expect(uas.logs).toMatch(/record-route: Record-Route: <sip:127\.0\.0\.1:\d+;lr;xpp-rr=[\w-]{22}>/);
    expect(calls).toEqual(['A INVITE sip:bob@localhost 200']);
    expect(a.front.stats.proxied).toBeGreaterThanOrEqual(3);
    expect(b.front.stats.proxied).toBeGreaterThanOrEqual(3);
  });
});
