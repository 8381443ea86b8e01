import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestOverlay, type TestPeer } from './sipp/overlay.js';
import { freeUdpPort, runSipp, sippVersion, type SippResult } from './sipp/run.js';

let overlay: TestOverlay;
beforeAll(async () => {
  expect(sippVersion()).toContain('SIPp');
  // sipp 3.6 reads only the first challenge and knows only MD5: this overlay offers MD5 first.
  overlay = await TestOverlay.certified(3, { digestAlgorithms: ['MD5', 'SHA-256'] });
  await overlay.addUser('alice', 'wonderland');
  // One callee per case: the contacts of a case that is over must not be rung by the next.
  for (const user of ['bob', 'carol', 'dave']) await overlay.addUser(user, 'builder');
});
afterAll(async () => {
  await overlay.close();
});

const ok = (run: SippResult) => expect(run.code, `${run.output}\n${run.logs}`).toBe(0);

/** Registers `user` from two sipp ports, one at peer 1 and one at peer 2: two contacts on two flow peers. */
async function twoContacts(user: string): Promise<[number, number]> {
  const ports: [number, number] = [await freeUdpPort(), await freeUdpPort()];
  const peers: TestPeer[] = [overlay.peers[1]!, overlay.peers[2]!];
  for (const [i, port] of ports.entries())
    ok(
      await runSipp('register.xml', {
        service: user,
        port,
        remote: peers[i]!.sip,
        auth: { username: user, password: 'builder' },
      }),
    );
  expect(await overlay.peers[0]!.front.location!.lookup(`sip:${user}@localhost`)).toHaveLength(2);
  return ports;
}

/** The caller's run (a sipp at peer 0), and when it ended. */
async function call(scenario: string, user: string): Promise<{ run: SippResult; at: number }> {
  const run = await runSipp(scenario, {
    service: user,
    port: await freeUdpPort(),
    remote: overlay.peers[0]!.sip,
    auth: { username: 'alice', password: 'wonderland' },
  });
  return { run, at: Date.now() };
}

const refusing = (port: number, scenario: 'uas-busy.xml' | 'uas-decline.xml', delay: number) =>
  runSipp(scenario, { service: 'x', port, extraArgs: ['-d', String(delay)] });
const cancelled = (port: number, delay: number) =>
  runSipp('uas-cancelled.xml', { service: 'x', port, extraArgs: ['-d', String(delay)] }).then((run) => ({
    run,
    at: Date.now(),
  }));

describe('forking (RFC 3261 §16.6–16.7) with sipp over UDP: one AOR, two contacts on two peers', () => {
  it('both ring; one answers, the other gets CANCEL; the call is set up and torn down', async () => {
    const [answering, other] = await twoContacts('bob');
    const calls: string[] = [];
    overlay.peers[0]!.front.on('call', (e) => calls.push(`${e.method} ${e.aor} ${e.status}`));
    // It answers only after ringing 1.5 s: by then the other contact has its INVITE, and a CANCEL to send back.
    const answer = runSipp('uas.xml', { service: 'bob', port: answering, extraArgs: ['-d', '1500'] });
    const rung = cancelled(other, 0);
    const caller = await call('uac.xml', 'bob');
    ok(caller.run);
    ok(await answer);
    const loser = await rung;
    ok(loser.run);
    expect(loser.run.logs).toMatch(/cancelled: CSeq: \d+ CANCEL/);
    expect(calls).toContain('INVITE sip:bob@localhost 200');
  });

  it('both busy: the caller gets 486 once both answered', async () => {
    const [first, second] = await twoContacts('carol');
    const busy = [refusing(first, 'uas-busy.xml', 0), refusing(second, 'uas-busy.xml', 300)];
    const caller = await call('uac-refused.xml', 'carol');
    ok(caller.run);
    expect(caller.run.logs).toContain('final: SIP/2.0 486');
    for (const run of await Promise.all(busy)) ok(run);
  });

  it('one declines (603): the caller gets 603 at once, the other is cancelled', async () => {
    const [declining, other] = await twoContacts('dave');
    // The rung contact answers its CANCEL at once but its INVITE (487) only 2 s later: the 603 does not wait for it.
    const rung = cancelled(other, 2000);
    // It declines after 1 s: by then the other contact has its INVITE, and a CANCEL to send back.
    const decline = refusing(declining, 'uas-decline.xml', 1000);
    const caller = await call('uac-refused.xml', 'dave');
    ok(caller.run);
    expect(caller.run.logs).toContain('final: SIP/2.0 603');
    ok(await decline);
    const loser = await rung;
    ok(loser.run);
    expect(loser.run.logs).toMatch(/cancelled: CSeq: \d+ CANCEL/);
    expect(caller.at).toBeLessThan(loser.at);
  });
});
