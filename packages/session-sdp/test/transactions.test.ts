import { describe, expect, it } from 'vitest';
import {
  SipHeaders,
  SipTransactionLayer,
  createResponse,
  serializeSip,
  type SipMessage,
  type SipRequest,
  type SipResponse,
  type ServerTransaction,
} from '@xpp/session-sdp';
import { CaptureTransport } from './support/capture-transport.js';
import { FakeClock } from '@xpp/fragment/testing';

const peer = { address: '198.51.100.7', port: 5070 };

function setup() {
  return setupWith({});
}

/** A layer on a manual clock and a capturing transport, with `options` (timers, bound). */
function setupWith(options: { timers?: { T1: number }; maxTransactions?: number }) {
  const clock = new FakeClock();
  const transport = new CaptureTransport(() => clock.now());
  const requests: { request: SipRequest; transaction: ServerTransaction | undefined }[] = [];
  const stray: SipResponse[] = [];
  const layer = new SipTransactionLayer({
    transport,
    clock,
    ...options,
    onRequest: (request, transaction) => requests.push({ request, transaction }),
    onStrayResponse: (response) => stray.push(response),
  });
  return { clock, transport, layer, requests, stray };
}

function request(layer: SipTransactionLayer, method: string): SipRequest {
  const headers = new SipHeaders()
    .append('Via', layer.newVia())
    .append('From', '<sip:a@192.0.2.1>;tag=a1')
    .append('To', '<sip:b@198.51.100.7>')
    .append('Call-ID', 'call-1')
    .append('CSeq', `1 ${method}`)
    .append('Max-Forwards', '70');
  return { kind: 'request', method, uri: 'sip:b@198.51.100.7', headers, body: new Uint8Array(0) };
}

function recorder() {
  const events: string[] = [];
  return {
    events,
    user: {
      response: (r: SipResponse) => events.push(String(r.status)),
      timeout: () => events.push('timeout'),
      transportError: () => events.push('transport-error'),
    },
  };
}

const reply = (req: SipRequest, status: number) =>
  new TextDecoder().decode(serializeSip(createResponse(req, status, { toTag: 'b1' })));
const isMethod = (method: string) => (m: SipMessage) => m.kind === 'request' && m.method === method;

describe('INVITE client transaction (Timers A, B, D)', () => {
  it('retransmits at T1 doubling without cap and times out at 64×T1', () => {
    const { clock, transport, layer } = setup();
    const { events, user } = recorder();
    layer.sendRequest(request(layer, 'INVITE'), peer, user);
    clock.advance(40_000);
    expect(transport.times(isMethod('INVITE'))).toEqual([0, 500, 1500, 3500, 7500, 15500, 31500]);
    expect(events).toEqual(['timeout']);
    expect(layer.size).toBe(0);
    expect(clock.pending).toBe(0);
  });

  it('stops retransmitting on 1xx and ends on 2xx without ACKing it', () => {
    const { clock, transport, layer } = setup();
    const { events, user } = recorder();
    const req = request(layer, 'INVITE');
    layer.sendRequest(req, peer, user);
    clock.advance(600);
    transport.deliver(reply(req, 180));
    clock.advance(10_000);
    expect(transport.times(isMethod('INVITE'))).toEqual([0, 500]);
    transport.deliver(reply(req, 200));
    expect(events).toEqual(['180', '200']);
    expect(transport.times(isMethod('ACK'))).toEqual([]);
    expect(layer.size).toBe(0);
  });

  it('ACKs a non-2xx itself, absorbs its retransmissions for Timer D', () => {
    const { clock, transport, layer } = setup();
    const { events, user } = recorder();
    const req = request(layer, 'INVITE');
    layer.sendRequest(req, peer, user);
    transport.deliver(reply(req, 486));
    clock.advance(1_000);
    transport.deliver(reply(req, 486));
    expect(events).toEqual(['486']);
    const acks = transport.sent.filter((s) => isMethod('ACK')(s.message));
    expect(acks).toHaveLength(2);
    const ack = acks[0]!.message as SipRequest;
    expect(ack.headers.get('via')).toBe(req.headers.get('via'));
    expect(ack.headers.get('cseq')).toBe('1 ACK');
    expect(ack.headers.get('to')).toContain('tag=b1');
    expect(layer.size).toBe(1);
    clock.advance(32_000);
    expect(layer.size).toBe(0);
  });
});

describe('non-INVITE client transaction (Timers E, F, K)', () => {
  it('retransmits at T1 doubling to T2 and times out at 64×T1', () => {
    const { clock, transport, layer } = setup();
    const { events, user } = recorder();
    layer.sendRequest(request(layer, 'BYE'), peer, user);
    clock.advance(33_000);
    expect(transport.times(isMethod('BYE'))).toEqual([
      0, 500, 1500, 3500, 7500, 11500, 15500, 19500, 23500, 27500, 31500,
    ]);
    expect(events).toEqual(['timeout']);
  });

  it('retransmits at T2 once proceeding, then waits T4 in Completed', () => {
    const { clock, transport, layer } = setup();
    const { events, user } = recorder();
    const req = request(layer, 'BYE');
    layer.sendRequest(req, peer, user);
    transport.deliver(reply(req, 100));
    clock.advance(9_000);
    expect(transport.times(isMethod('BYE'))).toEqual([0, 500, 4500, 8500]);
    transport.deliver(reply(req, 200));
    transport.deliver(reply(req, 200));
    expect(events).toEqual(['100', '200']);
    expect(layer.size).toBe(1);
    clock.advance(5_000);
    expect(layer.size).toBe(0);
  });
});

function incoming(method: string, branch = 'z9hG4bKin1', extra = ''): string {
  return [
    `${method} sip:a@192.0.2.1 SIP/2.0`,
    `Via: SIP/2.0/UDP 198.51.100.7:5070;branch=${branch};rport`,
    'From: <sip:b@198.51.100.7>;tag=b9',
    'To: <sip:a@192.0.2.1>' + extra,
    'Call-ID: in-1',
    `CSeq: 5 ${method}`,
    'Content-Length: 0',
    '',
    '',
  ].join('\r\n');
}

describe('INVITE server transaction (Timers G, H, I)', () => {
  it('sends 100 at once, retransmits a 486 with G until the ACK, then absorbs for Timer I', () => {
    const { clock, transport, layer, requests } = setup();
    transport.deliver(incoming('INVITE'));
    expect(transport.sent[0]?.message).toMatchObject({ kind: 'response', status: 100 });
    expect(transport.sent[0]?.to).toEqual(peer);
    transport.deliver(incoming('INVITE'));
    expect(transport.sent).toHaveLength(2);
    expect(requests).toHaveLength(1);
    const { request: req, transaction } = requests[0]!;
    expect(req.headers.get('via')).toContain('rport=5070');
    transaction!.respond(createResponse(req, 486, { toTag: 't' }));
    clock.advance(4_000);
    const is486 = (m: SipMessage) => m.kind === 'response' && m.status === 486;
    expect(transport.times(is486)).toEqual([0, 500, 1500, 3500]);
    transport.deliver(incoming('ACK', 'z9hG4bKin1', ';tag=t'));
    expect(transaction!.state).toBe('confirmed');
    clock.advance(10_000);
    expect(transport.times(is486)).toHaveLength(4);
    expect(transaction!.state).toBe('terminated');
    expect(layer.size).toBe(0);
  });

  it('gives up at Timer H without an ACK', () => {
    const { clock, transport, requests } = setup();
    transport.deliver(incoming('INVITE'));
    const { request: req, transaction } = requests[0]!;
    transaction!.respond(createResponse(req, 603, { toTag: 't' }));
    clock.advance(32_000);
    expect(transaction!.state).toBe('terminated');
    expect(transport.times((m) => m.kind === 'response' && m.status === 603)).toEqual([
      0, 500, 1500, 3500, 7500, 11500, 15500, 19500, 23500, 27500, 31500,
    ]);
  });
});

describe('INVITE server transaction after a 2xx (RFC 6026 Accepted, Timer L)', () => {
  /** An INVITE delivered and answered 200 by the TU: the transaction is Accepted. */
  function accepted(timers?: { T1: number }) {
    const context = setupWith(timers === undefined ? {} : { timers });
    const { transport, requests } = context;
    transport.deliver(incoming('INVITE'));
    const { request: req, transaction } = requests[0]!;
    const ok = createResponse(req, 200, { toTag: 't' });
    transaction!.respond(ok);
    return { ...context, req, transaction: transaction!, ok };
  }

  it('absorbs the INVITE retransmitted across the 2xx: no second request for the TU, nothing resent', () => {
    const { transport, requests, layer, transaction } = accepted();
    expect(transaction.state).toBe('accepted');
    expect(layer.size).toBe(1);
    expect(layer.accepted).toBe(1);
    const sent = transport.sent.length;
    transport.deliver(incoming('INVITE'));
    transport.deliver(incoming('INVITE'));
    expect(requests).toHaveLength(1);
    expect(transport.sent).toHaveLength(sent);
    expect(transaction.state).toBe('accepted');
  });

  it('sends the 2xx the TU retransmits through it, and nothing but a 2xx', () => {
    const { transport, req, transaction, ok } = accepted();
    const is200 = (m: SipMessage) => m.kind === 'response' && m.status === 200;
    expect(transport.sent.filter((s) => is200(s.message))).toHaveLength(1);
    transaction.respond(ok);
    transaction.respond(ok);
    expect(transport.sent.filter((s) => is200(s.message))).toHaveLength(3);
    expect(transport.sent.at(-1)?.to).toEqual(peer);
    transaction.respond(createResponse(req, 500, { toTag: 't' }));
    transaction.respond(createResponse(req, 180, { toTag: 't' }));
    expect(transport.sent.filter((s) => s.message.kind === 'response' && s.message.status !== 200)).toEqual([
      expect.objectContaining({ message: expect.objectContaining({ status: 100 }) }),
    ]);
  });

  it('passes every ACK of the 2xx to the TU, one on the INVITE branch too, and stays Accepted', () => {
    const { transport, requests, transaction } = accepted();
    transport.deliver(incoming('ACK', 'z9hG4bKack', ';tag=t'));
    expect(requests[1]?.request.method).toBe('ACK');
    expect(requests[1]?.transaction).toBeUndefined();
    // A peer that reuses the INVITE's branch for the ACK of the 2xx matches the Accepted transaction.
    transport.deliver(incoming('ACK', undefined, ';tag=t'));
    expect(requests[2]?.request.method).toBe('ACK');
    expect(requests[2]?.transaction).toBeUndefined();
    expect(transaction.state).toBe('accepted');
  });

  it('ends at Timer L = 64×T1, cancelling its timer; a later INVITE is a new request', () => {
    const { clock, transport, requests, layer, transaction } = accepted();
    clock.advance(64 * 500 - 1);
    expect(transaction.state).toBe('accepted');
    clock.advance(1);
    expect(transaction.state).toBe('terminated');
    expect(layer.size).toBe(0);
    expect(layer.accepted).toBe(0);
    expect(clock.pending).toBe(0);
    // The 2xx the TU still retransmits after Timer L is not sent by the ended transaction (it goes stateless).
    const sent = transport.sent.length;
    transaction.respond(createResponse(requests[0]!.request, 200, { toTag: 't' }));
    expect(transport.sent).toHaveLength(sent);
    transport.deliver(incoming('INVITE'));
    expect(requests).toHaveLength(2);
  });

  it('scales Timer L with a configured T1', () => {
    const { clock, layer, transaction } = accepted({ T1: 50 });
    clock.advance(64 * 50 - 1);
    expect(transaction.state).toBe('accepted');
    clock.advance(1);
    expect(transaction.state).toBe('terminated');
    expect(layer.size).toBe(0);
  });

  it('stays Accepted until Timer L when a 2xx retransmission cannot be sent', () => {
    const { clock, transport, layer, transaction, ok } = accepted();
    transport.send = () => {
      throw new Error('socket closed');
    };
    transaction.respond(ok);
    expect(layer.stats.sendErrors).toBe(1);
    expect(transaction.state).toBe('accepted');
    clock.advance(64 * 500);
    expect(transaction.state).toBe('terminated');
    expect(layer.size).toBe(0);
  });

  it('counts Accepted transactions against the bound: beyond it a new INVITE gets 503 until Timer L', () => {
    const { clock, transport, layer, requests } = setupWith({ maxTransactions: 2 });
    for (const branch of ['z9hG4bKa1', 'z9hG4bKa2']) {
      transport.deliver(incoming('INVITE', branch));
      const { request: req, transaction } = requests.at(-1)!;
      transaction!.respond(createResponse(req, 200, { toTag: 't' }));
    }
    expect(layer.accepted).toBe(2);
    transport.deliver(incoming('INVITE', 'z9hG4bKa3'));
    expect(requests).toHaveLength(2);
    expect(transport.sent.at(-1)?.message).toMatchObject({ kind: 'response', status: 503 });
    expect(layer.stats.overloadRejected).toBe(1);
    clock.advance(64 * 500);
    expect(layer.size).toBe(0);
    transport.deliver(incoming('INVITE', 'z9hG4bKa4'));
    expect(requests).toHaveLength(3);
  });
});

describe('non-INVITE server transaction (Timer J)', () => {
  it('answers retransmissions with the last response until Timer J', () => {
    const { clock, transport, requests, layer } = setup();
    transport.deliver(incoming('BYE', 'z9hG4bKb', ';tag=t'));
    expect(transport.sent).toHaveLength(0);
    transport.deliver(incoming('BYE', 'z9hG4bKb', ';tag=t'));
    const { request: req, transaction } = requests[0]!;
    transaction!.respond(createResponse(req, 200));
    transport.deliver(incoming('BYE', 'z9hG4bKb', ';tag=t'));
    expect(transport.sent.map((s) => (s.message.kind === 'response' ? s.message.status : 0))).toEqual([
      200, 200,
    ]);
    expect(requests).toHaveLength(1);
    clock.advance(32_000);
    expect(layer.size).toBe(0);
  });
});

describe('transaction layer', () => {
  it('answers malformed but answerable requests 400 with received/rport, and counts the rest', () => {
    const { transport, layer } = setup();
    transport.deliver(incoming('INVITE').replace('CSeq: 5 INVITE', 'CSeq: 5 BYE'));
    expect(transport.sent[0]?.message).toMatchObject({ kind: 'response', status: 400 });
    expect(transport.sent[0]?.message.headers.get('via')).toContain('rport=5070');
    transport.deliver('garbage');
    transport.deliver(incoming('INVITE').replace(/Via: .*\r\n/, ''));
    expect(layer.stats).toMatchObject({ badRequestsAnswered: 1, malformedDropped: 2 });
  });

  it('refuses requests without the magic cookie and passes stray responses up', () => {
    const { transport, layer, stray } = setup();
    transport.deliver(incoming('OPTIONS', 'oldbranch'));
    expect(transport.sent[0]?.message).toMatchObject({ kind: 'response', status: 400 });
    const req = request(layer, 'INVITE');
    transport.deliver(reply(req, 200));
    expect(stray).toHaveLength(1);
  });

  it('bounds its transactions: 503 beyond the limit', () => {
    const clock = new FakeClock();
    const transport = new CaptureTransport(() => clock.now());
    const layer = new SipTransactionLayer({
      transport,
      clock,
      maxTransactions: 2,
      onRequest: () => undefined,
    });
    for (let i = 0; i < 3; i++) transport.deliver(incoming('OPTIONS', `z9hG4bK${i}`));
    expect(layer.size).toBe(2);
    expect(layer.stats.overloadRejected).toBe(1);
    expect(transport.sent.at(-1)?.message).toMatchObject({ status: 503 });
    expect(() => layer.sendRequest(request(layer, 'BYE'), peer, recorder().user)).toThrow(
      expect.objectContaining({ code: 'TOO_LARGE' }),
    );
    layer.close();
    expect(clock.pending).toBe(0);
  });

  it('turns a send failure into a transport error', () => {
    const clock = new FakeClock();
    const layer = new SipTransactionLayer({
      transport: {
        local: { address: '127.0.0.1', port: 1 },
        setReceiver: () => undefined,
        send: () => {
          throw new Error('down');
        },
      },
      clock,
      onRequest: () => undefined,
    });
    const { events, user } = recorder();
    layer.sendRequest(request(layer, 'BYE'), peer, user);
    expect(events).toEqual(['transport-error']);
    expect(layer.size).toBe(0);
    expect(clock.pending).toBe(0);
  });
});
