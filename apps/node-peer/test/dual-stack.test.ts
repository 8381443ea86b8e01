import { join } from 'node:path';
import { isIP } from 'node:net';
import { SipUserAgent, parseVia, type SipCall, type SipRequest } from '@xpp/session-sdp';
import { afterAll, describe, expect, it } from 'vitest';
import { waitFor } from '@xpp/reliability/testing';
import { addUser } from '../src/cli/user-add.js';
import type { NodeHandle } from '../src/daemon.js';
import { RegisterClient } from '../src/sip/register-client.js';
import { candidateOf, config, handles, scratch, start } from './support/daemons.js';

// Issue #20 item 6, dual stack: two `xpp-node` peers bound to `::` (IPv4 and IPv6 on one socket each) advertise one
// address per family — the first `--advertise 127.0.0.1,::1`, the second `::1,127.0.0.1` joining over IPv4 — and a
// client on 127.0.0.1 at the first calls a client on ::1 at the second through both.
const users: SipUserAgent[] = [];
afterAll(async () => {
  await Promise.all(users.splice(0).map((ua) => ua.close()));
  await Promise.all(handles.splice(0).map((h) => h.close()));
});

const offer = (address: string) => {
  const ip = isIP(address) === 6 ? 'IP6' : 'IP4';
  return {
    contentType: 'application/sdp',
    body: `v=0\r\no=- 1 1 IN ${ip} ${address}\r\ns=-\r\nc=IN ${ip} ${address}\r\nt=0 0\r\n`,
  };
};

async function client(address: string, peer: NodeHandle, user: string, to: string) {
  const invites: SipRequest[] = [];
  const answered: Promise<SipCall>[] = [];
  const ua = await SipUserAgent.listen({
    address,
    user,
    onInvite: (invite) => {
      invites.push(invite.request);
      answered.push(invite.accept(offer(address)));
    },
  });
  users.push(ua);
  const registrar = new RegisterClient({
    layer: ua.layer,
    registrar: { address: to, port: peer.ports.sip },
    aor: `sip:${user}@localhost`,
    contact: `<${ua.contactUri}>`,
    password: `${user}-pw`,
  });
  expect((await registrar.register(600)).status).toBe(200);
  return { ua, invites, answered };
}

describe('dual-stack xpp-node peers (bound to ::, one address advertised per family)', () => {
  it('join over IPv4, advertise candidates of both families; an IPv4 client calls an IPv6 client', async () => {
    const dir = scratch();
    const first = await start(config(join(dir, 'a'), { host: '::', advertise: ['127.0.0.1', '::1'] }));
    const second = await candidateOf(first, dir, 'b', {
      host: '::',
      advertise: ['::1', '127.0.0.1'],
      joinVia: `127.0.0.1:${first.ports.sip}`,
    });
    await waitFor(
      async () => {
        await first.front.evaluateInvitePolicy();
        return second.node.state === 'peer';
      },
      { what: 'the second peer invited', timeoutMs: 30_000, intervalMs: 200 },
    );
    // Each names itself by its first advertised address, and offers XPP host candidates of both families.
    expect(first.node.ua.contactUri).toMatch(/@127\.0\.0\.1:\d+$/);
    expect(second.node.ua.contactUri).toMatch(/@\[::1\]:\d+$/);
    for (const peer of [first, second]) {
      expect(peer.node.contact.candidates.map((c) => c.address).sort()).toEqual(['127.0.0.1', '::1']);
      expect(peer.node.endpoint.stats.sessions).toBeGreaterThan(0);
    }
    const status = (await (await fetch(`http://127.0.0.1:${second.ports.http}/status`)).json()) as {
      sip: string;
    };
    expect(status.sip).toBe(`[::1]:${second.ports.sip}`);

    const admin = { domain: 'localhost', dataDir: first.config.dataDir, httpPort: first.ports.http };
    await addUser(admin, { aor: 'sip:alice@localhost', password: 'alice-pw' });
    await addUser(admin, { aor: 'sip:bob@localhost', password: 'bob-pw' });
    // Alice reaches the first peer over IPv4, Bob the second over IPv6: one socket each serves both.
    const alice = await client('127.0.0.1', first, 'alice', '127.0.0.1');
    const bob = await client('::1', second, 'bob', '::1');
    const call = await alice.ua.invite('sip:bob@localhost', offer('127.0.0.1'), {
      nextHop: { address: '127.0.0.1', port: first.ports.sip },
    });
    const callee = await bob.answered[0]!;
    const invite = bob.invites[0]!;
    // The first peer's Via and Record-Route toward the second are IPv6; it faces Alice with IPv4 too, RFC 5658's
    // double Record-Route (the callee's face on top). Bob sees only addresses he can reach on top.
    const vias = invite.headers.getAll('via').map((v) => parseVia(v)?.host);
    expect(vias).toEqual(['::1', '::1', '127.0.0.1']);
    const routes = invite.headers.getAll('record-route').map((r) => /^<sip:([^;]+);lr/.exec(r)?.[1]);
    expect(routes).toEqual([
      `[::1]:${second.ports.sip}`,
      `[::1]:${first.ports.sip}`,
      `127.0.0.1:${first.ports.sip}`,
    ]);
    // Alice's BYE goes to the first peer over IPv4 and on to Bob over IPv6; then Bob's direction, the other way.
    await call.bye();
    expect(await callee.ended).toBe('remote-bye');
    const back = await bob.ua.invite('sip:alice@localhost', offer('::1'), {
      nextHop: { address: '::1', port: second.ports.sip },
    });
    const answered = await alice.answered[0]!;
    await answered.bye();
    expect(await back.ended).toBe('remote-bye');
  });
});
