import { createSocket, type Socket } from 'node:dgram';
import {
  RFC4475_INVALID,
  RFC4475_PARSEABLE,
  RFC4475_VALID,
  type SipTortureMessage,
} from '@xpp/session-sdp/testing';
import { parseSipMessage } from '@xpp/session-sdp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '@xpp/reliability/testing';
import { rawRequest } from './support/raw-sip.js';
import { TestOverlay, type TestPeer } from './sipp/overlay.js';

// RFC 4475 as an outsider sends it: every invalid message as one raw UDP datagram to a running peer. A request is
// answered 400 (505 for SIP/7.0) and counted; a response is dropped and counted; the peer keeps serving.
let overlay: TestOverlay;
let peer: TestPeer;
let socket: Socket;
const received: string[] = [];

beforeAll(async () => {
  overlay = await TestOverlay.start(1);
  peer = overlay.peers[0]!;
  socket = createSocket('udp4');
  socket.on('message', (message) => received.push(message.toString('latin1')));
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
});
afterAll(async () => {
  socket.close();
  await overlay.close();
});

/** The fixture with its Via pointing at this test's socket (`rport`), so that an answer comes back here. */
function fromHere(fixture: SipTortureMessage): Buffer {
  const here = `SIP/2.0/UDP 127.0.0.1:${socket.address().port};rport;`;
  return Buffer.from(
    Buffer.from(fixture.bytes).toString('latin1').replace('SIP/2.0/UDP 192.0.2.15;', here),
    'latin1',
  );
}

/** Sends one datagram and returns what came back within `quietMs` of the first answer (or nothing). */
async function exchange(datagram: Buffer, quietMs = 300): Promise<string[]> {
  const before = received.length;
  socket.send(datagram, peer.sip.port, peer.sip.address);
  await waitFor(() => received.length > before, { timeoutMs: 2_000 }).catch(() => undefined);
  await new Promise((resolve) => setTimeout(resolve, quietMs));
  return received.slice(before);
}

let viaCount = 0;
/** The fixture with a Via of this test's socket on top of its own (which it keeps, torture and all). */
function viaHere(fixture: SipTortureMessage): Buffer {
  const text = Buffer.from(fixture.bytes).toString('latin1');
  const line = text.indexOf('\r\n');
  const via = `Via: SIP/2.0/UDP 127.0.0.1:${socket.address().port};rport;branch=z9hG4bK-here-${++viaCount}`;
  return Buffer.from(`${text.slice(0, line)}\r\n${via}${text.slice(line)}`, 'latin1');
}

const statusOf = (raw: string) => Number(/^SIP\/2\.0 (\d{3}) /.exec(raw)?.[1]);

describe('RFC 4475 invalid messages against a running peer (raw UDP)', () => {
  it('answers each request 400 or 505 and drops each response, counting both, never a 2xx', async () => {
    const layer = peer.node.ua.layer.stats;
    const outcome: Record<string, string> = {};
    const expected: Record<string, string> = {};
    for (const fixture of RFC4475_INVALID) {
      const answeredBefore = layer.badRequestsAnswered;
      const droppedBefore = layer.malformedDropped;
      const answers = await exchange(fromHere(fixture), fixture.expect === 'drop' ? 500 : 100);
      const counted =
        layer.badRequestsAnswered > answeredBefore
          ? 'answered'
          : layer.malformedDropped > droppedBefore
            ? 'dropped'
            : 'uncounted';
      outcome[fixture.name] = `${answers.map(statusOf).join(',') || 'none'} ${counted}`;
      expected[fixture.name] = fixture.expect === 'drop' ? 'none dropped' : `${fixture.expect} answered`;
    }
    expect(outcome).toEqual(expected);
    expect(peer.front.stats.rejected).toMatchObject({
      'malformed-answered': RFC4475_INVALID.filter((m) => m.expect !== 'drop').length,
      'malformed-dropped': RFC4475_INVALID.filter((m) => m.expect === 'drop').length,
    });
  });

  it('the 400 says why in its reason phrase and echoes the request (Via, Call-ID)', async () => {
    const fixture = RFC4475_INVALID.find((m) => m.name === 'escruri')!;
    const [answer] = await exchange(fromHere(fixture));
    expect(answer).toMatch(/^SIP\/2\.0 400 Bad Request - Request-URI carries escaped headers\r\n/);
    expect(answer).toContain('Call-ID: escruri.0ha0isndaksdjasdf3234nas\r\n');
    const [version] = await exchange(fromHere(RFC4475_INVALID.find((m) => m.name === 'badvers')!));
    expect(version).toMatch(/^SIP\/2\.0 505 Version Not Supported - /);
  });

  it('refuses an unknown Request-URI scheme with 416 (§3.3.2 unkscm)', async () => {
    const fixture = RFC4475_PARSEABLE.find((m) => m.name === 'unkscm')!;
    const answers = await exchange(fromHere(fixture));
    expect(answers.filter((raw) => raw.includes('Call-ID: unkscm.')).map(statusOf)).toEqual([416]);
  });

  it('valid and parseable ones: no 2xx to a foreign domain, 416 to a foreign scheme; responses counted stray', async () => {
    const layer = peer.node.ua.layer.stats;
    const stray = layer.strayResponses;
    const sent = new Map<string, string>(); // fixture → Call-ID
    for (const fixture of [...RFC4475_VALID, ...RFC4475_PARSEABLE]) {
      const message = parseSipMessage(fixture.bytes);
      if (message.kind === 'response') {
        socket.send(Buffer.from(fixture.bytes), peer.sip.port, peer.sip.address);
        continue;
      }
      sent.set(fixture.name, message.headers.get('call-id') ?? '');
      await exchange(viaHere(fixture), 20);
    }
    // INVITE answers are retransmitted until an ACK that never comes: distinct final statuses, by Call-ID.
    const finalsOf = (callId: string) => [
      ...new Set(
        received
          .filter((raw) => raw.includes(`\r\nCall-ID: ${callId}\r\n`))
          .map(statusOf)
          .filter((status) => status >= 200),
      ),
    ];
    await waitFor(() => [...sent.values()].every((callId) => finalsOf(callId).length > 0), {
      timeoutMs: 10_000,
    });
    const outcome = Object.fromEntries([...sent].map(([name, callId]) => [name, finalsOf(callId).join(',')]));
    // Every valid request of RFC 4475 is for another domain (example.com…): refused, never relayed; a foreign
    // scheme is 416; unksm2's `To: isbn:…` is not a SIP AOR to register (400). Before the relay check (RFC 3261
    // §16.3 steps 3 and 5): zeromf's Max-Forwards 0 is 483, bext01's Proxy-Require 420 (rfc4475-semantics.test.ts).
    const early: Record<string, string> = {
      unksm2: '400',
      unkscm: '416',
      novelsc: '416',
      zeromf: '483',
      bext01: '420',
    };
    const foreign = (name: string) => [name, early[name] ?? '403'];
    expect(outcome).toEqual(
      Object.fromEntries(
        [...RFC4475_VALID, ...RFC4475_PARSEABLE]
          .filter((m) => parseSipMessage(m.bytes).kind === 'request')
          .map((m) => foreign(m.name)),
      ),
    );
    await waitFor(() => layer.strayResponses >= stray + 2, { timeoutMs: 2_000 });
  });

  it('keeps serving: an ordinary OPTIONS afterwards is answered', async () => {
    const { text, callId } = rawRequest(
      { address: '127.0.0.1', port: socket.address().port },
      'OPTIONS',
      `sip:${peer.sip.address}:${peer.sip.port}`,
    );
    const answers = await exchange(Buffer.from(text));
    expect(answers.filter((raw) => raw.includes(`Call-ID: ${callId}\r\n`)).map(statusOf)).toEqual([200]);
  });
});
