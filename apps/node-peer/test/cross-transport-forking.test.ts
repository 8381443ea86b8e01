import type { SipRequest } from '@xpp/session-sdp';
import { waitFor } from '@xpp/reliability/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerFlow, tcpFlowClient, wsFlowClient, type FlowClient } from './support/flow-client.js';
import { TestOverlay, type TestPeer } from './sipp/overlay.js';
import { freeUdpPort, runSipp, sippVersion, type SippResult } from './sipp/run.js';

// Issue #20 "Forking … (and transports)": one AOR with a contact from a sipp UAS over UDP on one peer and a contact
// over a stream (TCP, or WebSocket) on another peer. Both ring; the sipp UAS answers, and the stream client gets
// the CANCEL on its own connection (RFC 3261 §16.7 step 10: CANCEL on the other branches; §18: a request to a
// stream flow goes on that connection).
let overlay: TestOverlay;
const clients: FlowClient[] = [];
beforeAll(async () => {
  expect(sippVersion()).toContain('SIPp');
  // sipp 3.6 reads only the first challenge and knows only MD5: this overlay offers MD5 first.
  overlay = await TestOverlay.certified(3, { digestAlgorithms: ['MD5', 'SHA-256'] }, { webSockets: true });
  await overlay.addUser('alice', 'wonderland');
  // One callee per case: the contacts of a case that is over must not be rung by the next.
  for (const user of ['bob', 'carol']) await overlay.addUser(user, 'builder');
});
afterAll(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await overlay.close();
});

const ok = (run: SippResult) => expect(run.code, `${run.output}\n${run.logs}`).toBe(0);
const peer = (i: number): TestPeer => overlay.peers[i]!;

/** A response to `request` as a UAS writes it (RFC 3261 §8.2.6): its Via, From, Call-ID and CSeq, our To tag. */
function response(request: SipRequest, status: string, cseq = request.headers.get('cseq') ?? ''): string {
  return [
    `SIP/2.0 ${status}`,
    ...request.headers.getAll('via').map((v) => `Via: ${v}`),
    `From: ${request.headers.get('from') ?? ''}`,
    `To: ${request.headers.get('to') ?? ''};tag=stream-uas`,
    `Call-ID: ${request.headers.get('call-id') ?? ''}`,
    `CSeq: ${cseq}`,
    'Content-Length: 0',
    '',
    '',
  ].join('\r\n');
}

/**
 * Plays a stream UAS that rings and never answers: 180 to the INVITE, then 200 to the CANCEL and 487 to the INVITE
 * (RFC 3261 §9.2). Resolves with the CANCEL it got.
 */
async function ringUntilCancelled(client: FlowClient): Promise<SipRequest> {
  const requests = () => client.messages.filter((m): m is SipRequest => m.kind === 'request');
  let invite: SipRequest | undefined;
  await waitFor(() => (invite = requests().find((r) => r.method === 'INVITE')) !== undefined, {
    what: `an INVITE on ${client.transport}`,
    timeoutMs: 15_000,
  });
  client.send(response(invite!, '180 Ringing'));
  let cancel: SipRequest | undefined;
  await waitFor(() => (cancel = requests().find((r) => r.method === 'CANCEL')) !== undefined, {
    what: `a CANCEL on ${client.transport}`,
    timeoutMs: 15_000,
  });
  client.send(response(cancel!, '200 OK'));
  client.send(response(invite!, '487 Request Terminated'));
  return cancel!;
}

/** The caller's run: a sipp UAC at peer 0 calling `user`. */
async function call(user: string): Promise<SippResult> {
  return runSipp('uac.xml', {
    service: user,
    port: await freeUdpPort(),
    remote: peer(0).sip,
    auth: { username: 'alice', password: 'wonderland' },
  });
}

/** Registers `user` from a sipp UDP port at peer 1; returns the port (the UAS runs on it). */
async function udpContact(user: string): Promise<number> {
  const port = await freeUdpPort();
  ok(
    await runSipp('register.xml', {
      service: user,
      port,
      remote: peer(1).sip,
      auth: { username: user, password: 'builder' },
    }),
  );
  return port;
}

describe('forking across transports: a UDP sipp UAS and a stream client of one AOR on two peers', () => {
  it.each([
    ['TCP', 'bob'],
    ['WS', 'carol'],
  ] as const)(
    'sipp over UDP answers; the %s client, rung too, gets the CANCEL on its own connection',
    async (transport, user) => {
      const udp = await udpContact(user);
      const stream =
        transport === 'TCP'
          ? await tcpFlowClient(peer(2).sip)
          : await wsFlowClient(`ws://127.0.0.1:${peer(2).ws?.port}`);
      clients.push(stream);
      expect((await registerFlow(stream, user, 'builder', { regId: 1 })).status).toBe(200);
      expect(await peer(0).front.location!.lookup(`sip:${user}@localhost`)).toHaveLength(2);
      const calls: string[] = [];
      const stop = peer(0).front.on('call', (e) => calls.push(`${e.method} ${e.aor} ${e.status}`));
      try {
        const answer = runSipp('uas.xml', { service: user, port: udp });
        const cancelled = ringUntilCancelled(stream);
        const caller = await call(user);
        ok(caller);
        ok(await answer);
        const cancel = await cancelled;
        // The CANCEL came down the stream flow: its top Via is peer 2's, naming the stream's transport.
        expect(cancel.headers.get('via')).toMatch(new RegExp(`^SIP/2\\.0/${transport} `));
        expect(calls).toContain(`INVITE sip:${user}@localhost 200`);
      } finally {
        stop();
      }
    },
    60_000,
  );
});
