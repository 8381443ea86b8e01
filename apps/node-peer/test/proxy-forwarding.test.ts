import {
  SipHeaders,
  StunType,
  decodeStunMessage,
  encodeStunMessage,
  readMappedAddress,
  type SipRequest,
} from '@xpp/session-sdp';
import { describe, expect, it } from 'vitest';
import {
  cancelFor,
  forwardedRequest,
  maxForwardsOf,
  recordRouteValue,
  routesTo,
  transactionKeyOf,
  uriTarget,
  withoutFirst,
} from '../src/proxy/forwarding.js';
import { answerKeepalive } from '../src/sip/keepalive.js';

const invite: SipRequest = {
  kind: 'request',
  method: 'INVITE',
  uri: 'sip:bob@localhost',
  headers: new SipHeaders([
    ['Via', 'SIP/2.0/UDP 192.0.2.1:5062;branch=z9hG4bK-a;received=198.51.100.1;rport=40000'],
    ['Route', '<sip:127.0.0.1:5060;lr>'],
    ['From', '<sip:alice@localhost>;tag=1'],
    ['To', '<sip:bob@localhost>'],
    ['Call-ID', 'c1'],
    ['CSeq', '7 INVITE'],
    ['Contact', '<sip:alice@192.0.2.1:5062>'],
  ]),
  body: new TextEncoder().encode('v=0'),
};

describe('proxy forwarding helpers (RFC 3261 §16.6, pure)', () => {
  it('forwards with Max-Forwards down by one, our Via and Record-Route on top, the Request-URI retargeted', () => {
    expect(maxForwardsOf(invite)).toBe(70);
    const withHops = (value: string) => {
      const headers = invite.headers.clone().set('Max-Forwards', value);
      return maxForwardsOf({ ...invite, headers });
    };
    // Leading zeros read as the number; past 255 as if absent (RFC 4475 §3.1.1.1, §3.1.2.4).
    expect([withHops('0068'), withHops('255'), withHops('300'), withHops('9999999999')]).toEqual([
      68, 255, 70, 70,
    ]);
    const out = forwardedRequest(invite, {
      uri: 'sip:bob@192.0.2.9:5070',
      via: 'SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK-b;rport',
      recordRoute: recordRouteValue({ address: '127.0.0.1', port: 5060 }),
    });
    expect(out.uri).toBe('sip:bob@192.0.2.9:5070');
    expect(out.headers.get('max-forwards')).toBe('69');
    expect(out.headers.getAll('via')).toEqual([
      'SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK-b;rport',
      'SIP/2.0/UDP 192.0.2.1:5062;branch=z9hG4bK-a;received=198.51.100.1;rport=40000',
    ]);
    expect(out.headers.getAll('record-route')).toEqual(['<sip:127.0.0.1:5060;lr>']);
    expect(invite.headers.has('record-route')).toBe(false); // the original is untouched
    // RFC 5658 double Record-Route: given top first, it stays top first above any earlier one.
    const twice = forwardedRequest(out, {
      uri: out.uri,
      via: 'SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-c;rport',
      recordRoute: ['<sip:127.0.0.1:8443;lr;transport=wss>', '<sip:127.0.0.1:5070;lr>'],
    });
    expect(twice.headers.getAll('record-route')).toEqual([
      '<sip:127.0.0.1:8443;lr;transport=wss>',
      '<sip:127.0.0.1:5070;lr>',
      '<sip:127.0.0.1:5060;lr>',
    ]);
  });

  it('recognises its own Route, removes only the first value of a header, and names transactions', () => {
    expect(routesTo('<sip:127.0.0.1:5060;lr>', { address: '127.0.0.1', port: 5060 })).toBe(true);
    expect(routesTo('<sip:127.0.0.1:5061;lr>', { address: '127.0.0.1', port: 5060 })).toBe(false);
    expect(routesTo('<sip:proxy.example;lr>', { address: '127.0.0.1', port: 5060 })).toBe(false);
    const two = new SipHeaders([
      ['Via', 'a'],
      ['To', 't'],
      ['Via', 'b'],
    ]);
    expect([...withoutFirst(two, 'v')].map((h) => `${h.name}:${h.value}`)).toEqual(['To:t', 'Via:b']);
    expect(uriTarget('sip:bob@[2001:db8::1]:5070')).toEqual({ address: '2001:db8::1', port: 5070 });
    expect(uriTarget('sip:bob@example.org')).toBeUndefined();
    expect(transactionKeyOf(invite)).toBe('z9hG4bK-a|192.0.2.1:5062');
  });

  it('builds the CANCEL of an INVITE (§9.1): same URI, Call-ID, From, To, Route, top Via, CSeq number', () => {
    const cancel = cancelFor(invite);
    expect(cancel.method).toBe('CANCEL');
    expect(cancel.uri).toBe(invite.uri);
    expect(cancel.headers.get('cseq')).toBe('7 CANCEL');
    expect(cancel.headers.getAll('via')).toEqual([invite.headers.get('via')]);
    for (const name of ['from', 'to', 'call-id', 'route'])
      expect(cancel.headers.get(name)).toBe(invite.headers.get(name));
  });
});

describe('answerKeepalive (RFC 5626 §3.5.1, §4.4.2, pure)', () => {
  const source = { address: '198.51.100.7', port: 40123 };
  it('answers STUN Binding with the reflexive address and CRLFCRLF with CRLF; nothing else', () => {
    const transactionId = new Uint8Array(12).fill(7);
    const answer = answerKeepalive(
      encodeStunMessage({ type: StunType.BINDING_REQUEST, transactionId, attributes: [] }),
      source,
    )!;
    const decoded = decodeStunMessage(answer);
    expect(decoded.type).toBe(StunType.BINDING_SUCCESS);
    expect(readMappedAddress(decoded)).toEqual(source);
    expect(answerKeepalive(new TextEncoder().encode('\r\n\r\n'), source)).toEqual(Uint8Array.of(13, 10));
    expect(
      answerKeepalive(
        encodeStunMessage({ type: StunType.BINDING_SUCCESS, transactionId, attributes: [] }),
        source,
      ),
    ).toBeUndefined();
    expect(
      answerKeepalive(new TextEncoder().encode('OPTIONS sip:x SIP/2.0\r\n\r\n'), source),
    ).toBeUndefined();
    const truncated = encodeStunMessage({
      type: StunType.BINDING_REQUEST,
      transactionId,
      attributes: [],
    }).slice(0, 19);
    expect(answerKeepalive(truncated, source)).toBeUndefined();
  });
});
