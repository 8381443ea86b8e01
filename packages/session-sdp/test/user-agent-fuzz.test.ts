import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SipTransactionLayer, SipUserAgent, answerXppSession, buildSdp } from '@xpp/session-sdp';
import { CaptureTransport } from './support/capture-transport.js';
import { FakeClock } from '@xpp/fragment/testing';

const sdp = buildSdp({ address: '198.51.100.7', port: 7000, ltag: 0x77, candidates: [] });

function message(method: string, branch: string, toTag: string, cseq: number, body = ''): string {
  return [
    `${method} sip:xpp@192.0.2.1:5060 SIP/2.0`,
    `Via: SIP/2.0/UDP 198.51.100.7:5070;branch=z9hG4bK${branch};rport`,
    'Max-Forwards: 70',
    'From: <sip:peer@198.51.100.7:5070>;tag=p1',
    `To: <sip:xpp@192.0.2.1:5060>${toTag}`,
    'Call-ID: fuzz-1',
    `CSeq: ${cseq} ${method}`,
    'Contact: <sip:peer@198.51.100.7:5070>',
    ...(body === '' ? [] : ['Content-Type: application/sdp']),
    `Content-Length: ${Buffer.byteLength(body)}`,
    '',
    body,
  ].join('\r\n');
}

const mutate = (text: string, edits: readonly [number, string, number][]) => {
  let out = text;
  for (const [at, insert, remove] of edits) {
    const i = at % (out.length + 1);
    out = out.slice(0, i) + insert + out.slice(i + remove);
  }
  return out;
};

describe('user agent under hostile input (manual clock)', () => {
  it('never throws, and ends every transaction, timer and call once the peer goes quiet', () => {
    const step = fc.tuple(
      fc.constantFrom('INVITE', 'ACK', 'BYE', 'CANCEL', 'OPTIONS', 'PRACK'),
      fc.constantFrom('a', 'b', 'c'),
      fc.constantFrom('', ';tag=x', ';tag=y'),
      fc.integer({ min: 1, max: 3 }),
      fc.array(fc.tuple(fc.nat(), fc.string({ maxLength: 6 }), fc.nat(4)), { maxLength: 2 }),
      fc.nat(3000),
    );
    fc.assert(
      fc.property(fc.array(step, { maxLength: 25 }), fc.boolean(), (steps, accept) => {
        const clock = new FakeClock();
        const transport = new CaptureTransport(() => clock.now());
        const ua = new SipUserAgent({
          transport,
          clock,
          answerTimeoutMs: 5_000,
          onInvite: (invite) => {
            if (accept)
              void answerXppSession(invite, () => ({
                address: '192.0.2.1',
                port: 7001,
                ltag: 1,
                candidates: [],
              })).catch(() => undefined);
          },
        });
        for (const [method, branch, toTag, cseq, edits, wait] of steps) {
          transport.deliver(
            mutate(message(method, branch, toTag, cseq, method === 'INVITE' ? sdp : ''), edits),
          );
          clock.advance(wait);
        }
        clock.advance(200_000);
        expect(ua.layer.size).toBe(0);
        expect(ua.layer.stats.sendErrors).toBe(0);
        // All we send parses, except a 400 that echoes the malformed header it complains about.
        for (const raw of transport.unparseable) expect(raw).toMatch(/^SIP\/2\.0 400 /);
        // Established calls stay until BYE or close; close then releases every one of them and every timer.
        void ua.close();
        expect(ua.calls).toBe(0);
        expect(clock.pending).toBe(0);
      }),
      { numRuns: 300 },
    );
  });

  it('answers 500 for a request handler that throws, and counts it', () => {
    const clock = new FakeClock();
    const transport = new CaptureTransport(() => clock.now());
    const layer = new SipTransactionLayer({
      transport,
      clock,
      onRequest: () => {
        throw new Error('handler bug');
      },
    });
    transport.deliver(message('OPTIONS', 'z', '', 1));
    expect(layer.stats.handlerErrors).toBe(1);
    expect(transport.sent.map((s) => (s.message.kind === 'response' ? s.message.status : 0))).toEqual([500]);
  });
});
