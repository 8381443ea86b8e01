import { createSocket } from 'node:dgram';
import fc from 'fast-check';
import { waitFor } from '@xpp/fragment/testing';
import { afterEach, describe, expect, it } from 'vitest';
import {
  SessionError,
  SipUserAgent,
  answerXppSession,
  buildSdp,
  generateXppKeyPair,
  offerXppSession,
  createResponse,
  parseSipMessage,
  type IncomingInvite,
  type SipResponse,
  type XppDescription,
} from '@xpp/session-sdp';

const agents: SipUserAgent[] = [];
async function agent(onInvite?: (invite: IncomingInvite) => void): Promise<SipUserAgent> {
  const ua = await SipUserAgent.listen(onInvite === undefined ? {} : { onInvite });
  agents.push(ua);
  return ua;
}
afterEach(async () => {
  await Promise.all(agents.splice(0).map((ua) => ua.close()));
});

const describeXpp = (port: number, ltag: number, publicKey?: Uint8Array): XppDescription => ({
  address: '127.0.0.1',
  port,
  ltag,
  candidates: [],
  ...(publicKey === undefined ? {} : { publicKey }),
});

describe('SIP user agent over loopback UDP', () => {
  it('sets up an XPP session by INVITE/200/ACK and ends it by BYE', async () => {
    const aliceKeys = generateXppKeyPair();
    const bobKeys = generateXppKeyPair();
    const answered: Promise<Awaited<ReturnType<typeof answerXppSession>>>[] = [];
    const bob = await agent((invite) => {
      answered.push(answerXppSession(invite, () => describeXpp(6000, 0xb0b0, bobKeys.publicKey)));
    });
    const alice = await agent();
    const offer = await offerXppSession(
      alice,
      bob.contactUri,
      describeXpp(5000, 0xa11c, aliceKeys.publicKey),
    );
    expect(offer.remote.ltag).toBe(0xb0b0);
    expect(offer.remote.publicKey).toEqual(bobKeys.publicKey);
    expect(offer.call.reflexive).toEqual(alice.local);
    const answer = await answered[0]!;
    expect(answer.remote.ltag).toBe(0xa11c);
    expect(answer.remote.publicKey).toEqual(aliceKeys.publicKey);
    expect(alice.calls).toBe(1);
    expect(bob.calls).toBe(1);

    await offer.call.bye();
    expect(await answer.call.ended).toBe('remote-bye');
    expect(await offer.call.ended).toBe('local-bye');
    expect(alice.calls + bob.calls).toBe(0);
  });

  it('puts an advertised address (where a NAT shows it) in its Contact, so the dialog targets it', async () => {
    const answered: Promise<unknown>[] = [];
    const bob = await agent((invite) => {
      // Its ACK goes to the advertised address, which nothing serves here: the answer is left to time out.
      answered.push(answerXppSession(invite, () => describeXpp(6000, 0xb0b0)).catch(() => undefined));
    });
    const alice = await agent();
    const seen = { address: '203.0.113.6', port: 40_000 };
    bob.advertise(seen);
    expect(bob.contactUri).toBe(`sip:xpp@203.0.113.6:40000`);
    const offer = await offerXppSession(alice, `sip:xpp@127.0.0.1:${bob.local.port}`, describeXpp(5000, 1));
    expect(offer.call.dialog.state.remoteTarget).toBe('sip:xpp@203.0.113.6:40000');
    expect(offer.call.dialog.nextHop()).toMatchObject(seen);
    bob.advertise(undefined);
    expect(bob.contactUri).toBe(`sip:xpp@127.0.0.1:${bob.local.port}`);
  });

  it('works over IPv6 loopback (bracketed hosts in Via, Contact and URIs)', async () => {
    const answered: Promise<Awaited<ReturnType<typeof answerXppSession>>>[] = [];
    const bob = await SipUserAgent.listen({
      address: '::1',
      onInvite: (invite) =>
        answered.push(answerXppSession(invite, () => ({ ...describeXpp(6000, 2), address: '::1' }))),
    });
    agents.push(bob);
    const alice = await SipUserAgent.listen({ address: '::1' });
    agents.push(alice);
    expect(bob.contactUri).toBe(`sip:xpp@[::1]:${bob.local.port}`);
    const offer = await offerXppSession(alice, bob.contactUri, { ...describeXpp(5000, 1), address: '::1' });
    expect(offer.remote.address).toBe('::1');
    expect(offer.call.reflexive).toEqual({ address: '::1', port: alice.local.port });
    await offer.call.bye();
    expect(await (await answered[0]!).call.ended).toBe('remote-bye');
  });

  it('lets the answerer end the call too', async () => {
    const answered: Promise<Awaited<ReturnType<typeof answerXppSession>>>[] = [];
    const bob = await agent((invite) => answered.push(answerXppSession(invite, () => describeXpp(6000, 2))));
    const alice = await agent();
    const offer = await offerXppSession(alice, bob.contactUri, describeXpp(5000, 1));
    const answer = await answered[0]!;
    await answer.call.bye();
    expect(await offer.call.ended).toBe('remote-bye');
  });

  it('answers an unusable offer 488 and the offerer gets SIP_REJECTED', async () => {
    const failures: unknown[] = [];
    const bob = await agent((invite) => {
      answerXppSession(invite, () => describeXpp(6000, 2)).catch((error: unknown) => failures.push(error));
    });
    const alice = await agent();
    const rejected = alice.invite(bob.contactUri, {
      contentType: 'application/sdp',
      body: 'v=0\r\nm=audio 1 RTP/AVP 0\r\n',
    });
    await expect(rejected).rejects.toMatchObject({ code: 'SIP_REJECTED', status: 488 });
    expect(SessionError.is(failures[0], 'BAD_SDP')).toBe(true);
  });

  it('rejects with 480 when nobody takes INVITEs, and the answerer may decline', async () => {
    const nobody = await agent();
    const alice = await agent();
    const body = { contentType: 'application/sdp', body: buildSdp(describeXpp(5000, 1)) };
    await expect(alice.invite(nobody.contactUri, body)).rejects.toMatchObject({ status: 480 });
    const decliner = await agent((invite) => invite.reject(486));
    await expect(alice.invite(decliner.contactUri, body)).rejects.toMatchObject({ status: 486 });
  });

  it('aborts a pending INVITE with ABORTED', async () => {
    const slow = await agent(() => undefined);
    const alice = await agent();
    const controller = new AbortController();
    const pending = alice.invite(
      slow.contactUri,
      { contentType: 'text/plain', body: 'x' },
      { signal: controller.signal },
    );
    setTimeout(() => controller.abort(), 50);
    await expect(pending).rejects.toMatchObject({ code: 'ABORTED' });
  });

  it('answers 400 to malformed requests and 481 to an unknown BYE over the socket', async () => {
    const bob = await agent();
    const socket = createSocket('udp4');
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
    const replies: string[] = [];
    socket.on('message', (m) => replies.push(new TextDecoder().decode(m)));
    const port = socket.address().port;
    const base = (method: string, cseq: string) =>
      [
        `${method} ${bob.contactUri} SIP/2.0`,
        `Via: SIP/2.0/UDP 127.0.0.1:${port};branch=z9hG4bK${method}${cseq.length}`,
        'From: <sip:x@127.0.0.1>;tag=1',
        `To: <${bob.contactUri}>;tag=2`,
        'Call-ID: nope',
        `CSeq: ${cseq}`,
        '',
        '',
      ].join('\r\n');
    socket.send(base('BYE', '1 INVITE'), bob.local.port, '127.0.0.1');
    socket.send(base('BYE', '1 BYE'), bob.local.port, '127.0.0.1');
    socket.send('\x00\xff not sip', bob.local.port, '127.0.0.1');
    await waitFor(() => replies.length >= 2 && bob.layer.stats.malformedDropped >= 1, {
      timeoutMs: 5000,
      intervalMs: 10,
    });
    const statuses = replies
      .map((r) => (parseSipMessage(new TextEncoder().encode(r)) as { status: number }).status)
      .sort();
    expect(statuses).toEqual([400, 481]);
    socket.close();
  });

  it('lets an onRequest hook take requests (a registrar on the same socket) and handles the rest itself', async () => {
    const taken: string[] = [];
    const bob = await SipUserAgent.listen({
      onRequest: (request, transaction) => {
        if (request.method !== 'REGISTER' || transaction === undefined) return false;
        taken.push(request.method);
        transaction.respond(createResponse(request, 200));
        return true;
      },
    });
    agents.push(bob);
    const socket = createSocket('udp4');
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
    const replies: string[] = [];
    socket.on('message', (m) => replies.push(new TextDecoder().decode(m)));
    const port = socket.address().port;
    const request = (method: string) =>
      [
        `${method} sip:localhost SIP/2.0`,
        `Via: SIP/2.0/UDP 127.0.0.1:${port};branch=z9hG4bK${method}`,
        'From: <sip:alice@localhost>;tag=1',
        'To: <sip:alice@localhost>',
        `Call-ID: hook-${method}`,
        `CSeq: 1 ${method}`,
        '',
        '',
      ].join('\r\n');
    socket.send(request('REGISTER'), bob.local.port, '127.0.0.1');
    socket.send(request('OPTIONS'), bob.local.port, '127.0.0.1');
    await waitFor(() => replies.length >= 2, { timeoutMs: 5000, intervalMs: 10 });
    const byMethod = Object.fromEntries(
      replies.map((r) => {
        const response = parseSipMessage(new TextEncoder().encode(r)) as SipResponse;
        return [response.headers.get('cseq'), response.status];
      }),
    );
    expect(byMethod).toEqual({ '1 REGISTER': 200, '1 OPTIONS': 200 });
    expect(taken).toEqual(['REGISTER']);
    socket.close();
  });

  it('survives random datagrams and still sets up calls', async () => {
    const answered: Promise<unknown>[] = [];
    const bob = await agent((invite) => answered.push(answerXppSession(invite, () => describeXpp(6000, 2))));
    const socket = createSocket('udp4');
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 600 }), async (bytes) => {
        await new Promise<void>((resolve) =>
          socket.send(bytes, bob.local.port, '127.0.0.1', () => resolve()),
        );
      }),
      { numRuns: 200 },
    );
    await waitFor(() => bob.layer.stats.received >= 150, { timeoutMs: 5000, intervalMs: 10 });
    const alice = await agent();
    const offer = await offerXppSession(alice, bob.contactUri, describeXpp(5000, 1));
    expect(offer.remote.ltag).toBe(2);
    await offer.call.bye();
    socket.close();
  });
});
