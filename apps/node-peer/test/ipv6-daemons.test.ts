import { join } from 'node:path';
import { SipUserAgent, type SipCall, type SipRequest } from '@xpp/session-sdp';
import { afterAll, describe, expect, it } from 'vitest';
import { waitFor } from '@xpp/reliability/testing';
import { addUser } from '../src/cli/user-add.js';
import type { NodeHandle } from '../src/daemon.js';
import { RegisterClient } from '../src/sip/register-client.js';
import { candidateOf, config, handles, scratch, start } from './support/daemons.js';

// Issue #20 item 6 with the daemon itself: three `xpp-node` peers configured `host: '::1'` (as `--host ::1`), the
// second and third joining with `--via [::1]:<port>`, form an overlay; clients on ::1 register at two of them and
// call each other through both.
const users: SipUserAgent[] = [];
afterAll(async () => {
  await Promise.all(users.splice(0).map((ua) => ua.close()));
  await Promise.all(handles.splice(0).map((h) => h.close()));
});

const OFFER = {
  contentType: 'application/sdp',
  body: 'v=0\r\no=- 1 1 IN IP6 ::1\r\ns=-\r\nc=IN IP6 ::1\r\nt=0 0\r\n',
};

async function client(peer: NodeHandle, user: string, password: string, onInvite?: (i: SipRequest) => void) {
  const answered: Promise<SipCall>[] = [];
  const ua = await SipUserAgent.listen({
    address: '::1',
    user,
    onInvite: (invite) => {
      onInvite?.(invite.request);
      answered.push(invite.accept(OFFER));
    },
  });
  users.push(ua);
  const registrar = new RegisterClient({
    layer: ua.layer,
    registrar: { address: '::1', port: peer.ports.sip },
    aor: `sip:${user}@localhost`,
    contact: `<${ua.contactUri}>`,
    password,
  });
  return { ua, registrar, answered };
}

describe('xpp-node peers on ::1', () => {
  it('three peers form an overlay, and a call between clients of two of them completes', async () => {
    const dir = scratch();
    const first = await start(config(join(dir, 'a'), { host: '::1' }));
    const joining = [await candidateOf(first, dir, 'b'), await candidateOf(first, dir, 'c')];
    const ready = new Set<NodeHandle>();
    for (const peer of joining) void peer.ready.then(() => ready.add(peer));
    await waitFor(
      async () => {
        await first.front.evaluateInvitePolicy();
        return ready.size === joining.length;
      },
      { what: 'both candidates invited', timeoutMs: 30_000, intervalMs: 200 },
    );
    const [, third] = joining as [NodeHandle, NodeHandle];
    for (const peer of [first, ...joining]) {
      expect(peer.node.ua.local.address).toBe('::1');
      expect(peer.node.state).toBe('peer');
    }
    // /status shows the SIP address as `--via` takes it: bracketed.
    const status = (await (await fetch(`http://127.0.0.1:${third.ports.http}/status`)).json()) as {
      sip: string;
    };
    expect(status.sip).toBe(`[::1]:${third.ports.sip}`);
    const admin = { domain: 'localhost', dataDir: first.config.dataDir, httpPort: first.ports.http };
    await addUser(admin, { aor: 'sip:alice@localhost', password: 'alice-pw' });
    await addUser(admin, { aor: 'sip:bob@localhost', password: 'bob-pw' });
    const invites: SipRequest[] = [];
    const alice = await client(first, 'alice', 'alice-pw');
    const bob = await client(third, 'bob', 'bob-pw', (request) => invites.push(request));
    expect((await alice.registrar.register(600)).status).toBe(200);
    expect((await bob.registrar.register(600)).status).toBe(200);
    const call = await alice.ua.invite('sip:bob@localhost', OFFER, {
      nextHop: { address: '::1', port: first.ports.sip },
    });
    const callee = await bob.answered[0]!;
    expect(invites[0]?.headers.getAll('record-route').every((r) => /^<sip:\[::1\]:\d+;lr/.test(r))).toBe(
      true,
    );
    await call.bye();
    expect(await callee.ended).toBe('remote-bye');
  });
});
