import { describe, expect, it } from 'vitest';
import { SipUserAgent, type IncomingInvite, type SipCall, type SipMessage } from '@xpp/session-sdp';
import { CaptureTransport } from './support/capture-transport.js';
import { FakeClock } from '@xpp/fragment/testing';

function invite(branch: string, method = 'INVITE'): string {
  return [
    `${method} sip:xpp@192.0.2.1:5060 SIP/2.0`,
    `Via: SIP/2.0/UDP 198.51.100.7:5070;branch=${branch}`,
    'From: <sip:peer@198.51.100.7:5070>;tag=p1',
    'To: <sip:xpp@192.0.2.1:5060>',
    'Call-ID: timers-1',
    `CSeq: 1 ${method}`,
    'Contact: <sip:peer@198.51.100.7:5070>',
    'Content-Length: 0',
    '',
    '',
  ].join('\r\n');
}

const status = (m: SipMessage) => (m.kind === 'response' ? m.status : 0);

function setup(onInvite: (invite: IncomingInvite) => void) {
  const clock = new FakeClock();
  const transport = new CaptureTransport(() => clock.now());
  const ua = new SipUserAgent({ transport, clock, onInvite, answerTimeoutMs: 10_000 });
  return { clock, transport, ua };
}

describe('user agent timers (manual clock)', () => {
  it('answers 480 to an INVITE the application leaves unanswered, releasing everything', () => {
    const { clock, transport, ua } = setup(() => undefined);
    transport.deliver(invite('z9hG4bK1'));
    clock.advance(10_000);
    expect(transport.sent.map((s) => status(s.message))).toEqual([100, 480]);
    transport.deliver(
      invite('z9hG4bK1', 'ACK').replace(
        'To: <sip:xpp@192.0.2.1:5060>',
        `To: ${transport.sent[1]!.message.headers.get('to')!}`,
      ),
    );
    clock.advance(60_000);
    expect(ua.layer.size).toBe(0);
    expect(clock.pending).toBe(0);
  });

  it('retransmits its 2xx at T1 doubling to T2 until 64×T1, then ends the call with BYE', async () => {
    let accepted: Promise<unknown> | undefined;
    const { clock, transport, ua } = setup((incoming) => {
      accepted = incoming.accept({ contentType: 'text/plain', body: 'answer' });
    });
    transport.deliver(invite('z9hG4bK2'));
    const outcome = accepted!.then(
      () => 'resolved',
      (error: { code: string }) => error.code,
    );
    clock.advance(40_000);
    expect(transport.times((m) => status(m) === 200)).toEqual([
      0, 500, 1500, 3500, 7500, 11500, 15500, 19500, 23500, 27500, 31500,
    ]);
    expect(await outcome).toBe('SIP_TIMEOUT');
    const bye = transport.sent.find((s) => s.message.kind === 'request' && s.message.method === 'BYE');
    expect(bye?.at).toBe(32_000);
    expect(bye?.message.headers.get('to')).toContain('tag=p1');
    expect(ua.calls).toBe(0);
    clock.advance(40_000);
    expect(ua.layer.size).toBe(0);
    expect(clock.pending).toBe(0);
  });

  it('takes an INVITE retransmitted across its 2xx for no second invitation (RFC 6026), and Timer L empties the layer', async () => {
    const invites: IncomingInvite[] = [];
    let accepted: Promise<SipCall> | undefined;
    const { clock, transport, ua } = setup((incoming) => {
      invites.push(incoming);
      accepted = incoming.accept({ contentType: 'text/plain', body: 'answer' });
    });
    transport.deliver(invite('z9hG4bK5'));
    clock.advance(400);
    // The caller's Timer A retransmission, sent before our 2xx reached it.
    transport.deliver(invite('z9hG4bK5'));
    // The UAS core's 2xx retransmissions go out through the Accepted transaction.
    clock.advance(1_100);
    expect(invites).toHaveLength(1);
    expect(transport.times((m) => status(m) === 200)).toEqual([0, 500, 1500]);
    expect(ua.layer.accepted).toBe(1);
    const ok = transport.sent.find((s) => status(s.message) === 200)!.message;
    transport.deliver(
      invite('z9hG4bK6', 'ACK').replace('To: <sip:xpp@192.0.2.1:5060>', `To: ${ok.headers.get('to')!}`),
    );
    const call = await accepted!;
    expect(call.dialog.id).toBe(invites[0]!.dialogId);
    expect(ua.calls).toBe(1);
    // Absorbed until Timer L (64×T1 after the 2xx), then the transaction is gone and no timer is left.
    clock.advance(64 * 500 - 1_501);
    transport.deliver(invite('z9hG4bK5'));
    expect(invites).toHaveLength(1);
    expect(ua.layer.size).toBe(1);
    clock.advance(1);
    expect(ua.layer.size).toBe(0);
    expect(transport.times((m) => status(m) === 200)).toEqual([0, 500, 1500]);
    expect(clock.pending).toBe(0);
  });

  it('answers CANCEL of a pending INVITE with 200 and the INVITE with 487', () => {
    const { transport } = setup(() => undefined);
    transport.deliver(invite('z9hG4bK3'));
    transport.deliver(invite('z9hG4bK3', 'CANCEL'));
    expect(transport.sent.map((s) => [status(s.message), s.message.headers.get('cseq')])).toEqual([
      [100, '1 INVITE'],
      [487, '1 INVITE'],
      [200, '1 CANCEL'],
    ]);
  });
});

describe('route set (RFC 3261 §12.1)', () => {
  it('copies Record-Route into the 2xx, and the UAC sends ACK and BYE through the reversed route set', async () => {
    let accepted: Promise<SipCall> | undefined;
    const { transport } = setup((incoming) => {
      accepted = incoming.accept({ contentType: 'text/plain', body: 'answer' });
    });
    transport.deliver(
      invite('z9hG4bK4').replace(
        'Contact:',
        'Record-Route: <sip:203.0.113.1:5060;lr>, <sip:203.0.113.2:5060;lr>\r\nContact:',
      ),
    );
    const ok = transport.sent.find((s) => status(s.message) === 200)!.message;
    expect(ok.headers.getAll('record-route')).toEqual([
      '<sip:203.0.113.1:5060;lr>',
      '<sip:203.0.113.2:5060;lr>',
    ]);
    void accepted?.catch(() => undefined);

    // The UAC side: a 2xx with the same Record-Route makes a route set 2, 1 (reversed); ACK and BYE go to .2.
    const clock = new FakeClock();
    const uacTransport = new CaptureTransport(() => clock.now());
    const uac = new SipUserAgent({ transport: uacTransport, clock });
    const pending = uac.invite('sip:xpp@198.51.100.7:5070', { contentType: 'text/plain', body: 'offer' });
    const sentInvite = uacTransport.sent[0]!.message;
    const answer = [
      'SIP/2.0 200 OK',
      `Via: ${sentInvite.headers.get('via')!}`,
      'Record-Route: <sip:203.0.113.1:5060;lr>, <sip:203.0.113.2:5060;lr>',
      `From: ${sentInvite.headers.get('from')!}`,
      `To: ${sentInvite.headers.get('to')!};tag=callee`,
      `Call-ID: ${sentInvite.headers.get('call-id')!}`,
      'CSeq: 1 INVITE',
      'Contact: <sip:callee@10.0.0.9:5060>',
      'Content-Length: 0',
      '',
      '',
    ].join('\r\n');
    uacTransport.deliver(answer, { address: '203.0.113.2', port: 5060 });
    const call = await pending;
    void call.bye().catch(() => undefined);
    const inDialog = uacTransport.sent.filter(
      (s) => s.message.kind === 'request' && s.message.method !== 'INVITE',
    );
    expect(inDialog.map((s) => [s.message.kind === 'request' && s.message.method, s.to])).toEqual([
      ['ACK', { address: '203.0.113.2', port: 5060 }],
      ['BYE', { address: '203.0.113.2', port: 5060 }],
    ]);
    const ack = inDialog[0]!.message;
    expect(ack.kind === 'request' && ack.uri).toBe('sip:callee@10.0.0.9:5060');
    expect(ack.headers.getAll('route')).toEqual(['<sip:203.0.113.2:5060;lr>', '<sip:203.0.113.1:5060;lr>']);
  });
});
