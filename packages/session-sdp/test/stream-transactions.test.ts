import { describe, expect, it } from 'vitest';
import { FakeClock } from '@xpp/fragment/testing';
import {
  SipHeaders,
  SipTransactionLayer,
  createResponse,
  parseVia,
  type ServerTransaction,
  type SipAddress,
  type SipRequest,
} from '@xpp/session-sdp';
import { CaptureTransport } from './support/capture-transport.js';

// RFC 3261 §17 over a stream (TCP, TLS): no retransmissions, no time spent waiting for them, and §18.2.2's
// responses on the connection the request came on.
const tcpPeer: SipAddress = { address: '198.51.100.7', port: 40_001, transport: 'TCP' };

function setup() {
  const clock = new FakeClock();
  const transport = new CaptureTransport(() => clock.now());
  const served: ServerTransaction[] = [];
  const layer = new SipTransactionLayer({
    transport,
    clock,
    onRequest: (request, transaction) => {
      if (transaction !== undefined) served.push(transaction);
      transaction?.respond(createResponse(request, 200));
    },
  });
  return { clock, transport, layer, served };
}

function outbound(layer: SipTransactionLayer, method: string): SipRequest {
  const headers = new SipHeaders()
    .append('Via', layer.newVia())
    .append('From', '<sip:a@192.0.2.1>;tag=a1')
    .append('To', '<sip:b@198.51.100.7>')
    .append('Call-ID', `out-${method}`)
    .append('CSeq', `1 ${method}`)
    .append('Max-Forwards', '70');
  return {
    kind: 'request',
    method,
    uri: 'sip:b@198.51.100.7;transport=tcp',
    headers,
    body: new Uint8Array(0),
  };
}

const inbound = (method: string) =>
  [
    `${method} sip:b@192.0.2.1 SIP/2.0`,
    // sent-by names the client's listening port, not the connection's: the answer must follow the connection.
    'Via: SIP/2.0/TCP 198.51.100.7:5060;branch=z9hG4bK-in1',
    'From: <sip:a@198.51.100.7>;tag=x',
    'To: <sip:b@192.0.2.1>',
    `Call-ID: in-${method}`,
    `CSeq: 1 ${method}`,
    'Max-Forwards: 70',
    'Content-Length: 0',
    '',
    '',
  ].join('\r\n');

describe('transactions over a stream', () => {
  for (const method of ['OPTIONS', 'INVITE']) {
    it(`a client ${method} is sent once with a TCP Via, and still times out at 64·T1`, () => {
      const { clock, transport, layer } = setup();
      let timedOut = false;
      layer.sendRequest(outbound(layer, method), tcpPeer, {
        response: () => undefined,
        timeout: () => (timedOut = true),
        transportError: () => undefined,
      });
      clock.advance(31_000);
      expect(transport.sent).toHaveLength(1);
      expect(transport.sent[0]?.to).toEqual(tcpPeer);
      expect(parseVia(transport.sent[0]?.message.headers.get('via') ?? '')?.protocol).toBe('SIP/2.0/TCP');
      clock.advance(1_000);
      expect(timedOut).toBe(true);
    });
  }

  it('a non-INVITE answered over a stream leaves the table at once (Timer J = 0), on the connection it came on', () => {
    const { clock, transport, layer } = setup();
    transport.deliver(inbound('OPTIONS'), tcpPeer);
    expect(transport.sent.map((s) => [s.message.kind === 'response' && s.message.status, s.to])).toEqual([
      [200, tcpPeer],
    ]);
    clock.advance(0);
    expect(layer.size).toBe(0);
    // Over UDP the same request holds its slot for Timer J (64·T1) to absorb retransmissions.
    transport.deliver(inbound('OPTIONS').replace('SIP/2.0/TCP', 'SIP/2.0/UDP'), {
      address: '198.51.100.7',
      port: 5060,
    });
    clock.advance(0);
    expect(layer.size).toBe(1);
  });

  it('a server INVITE answered 486 over a stream is not retransmitted (no Timer G)', () => {
    const { clock, transport, served } = setup();
    const layer2 = new SipTransactionLayer({
      transport,
      clock,
      onRequest: (request, transaction) => transaction?.respond(createResponse(request, 486)),
    });
    transport.deliver(inbound('INVITE'), tcpPeer);
    clock.advance(10_000);
    const finals = transport.sent.filter((s) => s.message.kind === 'response' && s.message.status === 486);
    expect(finals).toHaveLength(1);
    expect(served).toHaveLength(0);
    layer2.close();
  });
});
