import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  SessionError,
  SipHeaders,
  bodyText,
  createResponse,
  decodeSip,
  parseNameAddr,
  parseSipMessage,
  parseSipUri,
  parseVia,
  responseTarget,
  serializeSip,
  stampReceived,
  type SipRequest,
} from '@xpp/session-sdp';

const enc = (s: string) => new TextEncoder().encode(s);
const crlf = (...lines: string[]) => lines.join('\r\n');

// RFC 3261 §24.2 F1, with its SDP body.
const body = crlf(
  'v=0',
  'o=alice 2890844526 2890844526 IN IP4 client.atlanta.example.com',
  's=-',
  'c=IN IP4 192.0.2.101',
  't=0 0',
  'm=application 49172 UDP/XPP *',
  'a=ltag:0x0001',
  '',
);
const invite = crlf(
  'INVITE sip:bob@biloxi.example.com SIP/2.0',
  'Via: SIP/2.0/UDP client.atlanta.example.com:5060;branch=z9hG4bK74bf9',
  'Max-Forwards: 70',
  'From: Alice <sip:alice@atlanta.example.com>;tag=9fxced76sl',
  'To: Bob <sip:bob@biloxi.example.com>',
  'Call-ID: 3848276298220188511@atlanta.example.com',
  'CSeq: 1 INVITE',
  'Contact: <sip:alice@client.atlanta.example.com;transport=udp>',
  'Content-Type: application/sdp',
  `Content-Length: ${body.length}`,
  '',
  body,
);

function expectBadSip(text: string, code: 'BAD_SIP' | 'TOO_LARGE' = 'BAD_SIP'): SessionError {
  try {
    parseSipMessage(enc(text));
  } catch (error) {
    expect(SessionError.is(error, code)).toBe(true);
    return error as SessionError;
  }
  throw new Error('parsed a malformed message');
}

describe('SIP message codec', () => {
  it('parses a request with its body', () => {
    const message = parseSipMessage(enc(invite));
    expect(message.kind).toBe('request');
    const request = message as SipRequest;
    expect(request.method).toBe('INVITE');
    expect(request.uri).toBe('sip:bob@biloxi.example.com');
    expect(request.headers.get('call-id')).toBe('3848276298220188511@atlanta.example.com');
    expect(request.headers.get('CSEQ')).toBe('1 INVITE');
    expect(bodyText(request)).toBe(body);
  });

  it('expands compact forms, unfolds lines and splits list headers', () => {
    const text = crlf(
      'OPTIONS sip:x@192.0.2.1 SIP/2.0',
      'v: SIP/2.0/UDP 192.0.2.2;branch=z9hG4bKa, SIP/2.0/UDP 192.0.2.3:5070;branch=z9hG4bKb',
      'f: <sip:a@192.0.2.2>;tag=1',
      't: <sip:x@192.0.2.1>',
      'i: abc',
      'CSeq: 7',
      '  OPTIONS',
      'm: <sip:a@192.0.2.2>',
      'l: 0',
      '',
      '',
    );
    const message = parseSipMessage(enc(text));
    expect(message.headers.getAll('Via')).toEqual([
      'SIP/2.0/UDP 192.0.2.2;branch=z9hG4bKa',
      'SIP/2.0/UDP 192.0.2.3:5070;branch=z9hG4bKb',
    ]);
    expect(message.headers.get('cseq')).toBe('7 OPTIONS');
    expect([...message.headers].map((h) => h.name)).toContain('Call-ID');
  });

  it('takes the body from Content-Length and refuses a short one', () => {
    const withTrailer = invite + 'TRAILING';
    expect(bodyText(parseSipMessage(enc(withTrailer)))).toBe(body);
    expectBadSip(invite.slice(0, -5));
    expectBadSip(invite.replace(/Content-Length: \d+/, 'Content-Length: -1'));
  });

  it('parses responses and skips leading CRLFs', () => {
    const text =
      '\r\n\r\n' +
      crlf(
        'SIP/2.0 180 Ringing',
        'Via: SIP/2.0/UDP h;branch=z9hG4bK1',
        'From: <sip:a@h>;tag=1',
        'To: <sip:b@h>;tag=2',
        'Call-ID: c',
        'CSeq: 1 INVITE',
        '',
        '',
      );
    const message = parseSipMessage(enc(text));
    expect(message.kind === 'response' && [message.status, message.reason]).toEqual([180, 'Ringing']);
  });

  it.each([
    ['a keepalive', '\r\n\r\n'],
    ['no blank line', 'INVITE sip:a@b SIP/2.0\r\nVia: x'],
    ['a bad start line', invite.replace('SIP/2.0\r\n', 'SIP/3.0\r\n')],
    ['a bad status', 'SIP/2.0 99 Low\r\n\r\n'],
    ['a header without colon', invite.replace('Max-Forwards: 70', 'Max-Forwards 70')],
    ['a CSeq for another method', invite.replace('1 INVITE', '1 BYE')],
    ['a missing Call-ID', invite.replace(/Call-ID: .*\r\n/, '')],
    ['a malformed Via', invite.replace('SIP/2.0/UDP client', 'SIP/2.0/UDP ?client')],
    ['a bare LF inside headers', invite.replace('Max-Forwards: 70\r\n', 'Max-Forwards: 70\nX: y\r\n')],
    ['a CSeq too large', invite.replace('CSeq: 1 INVITE', 'CSeq: 2147483648 INVITE')],
  ])('refuses %s', (_name, text) => {
    expectBadSip(text);
  });

  it('marks requests it can still answer, and builds the 400', () => {
    const result = decodeSip(
      enc(invite.replace('CSeq: 1 INVITE', 'CSeq: 1 BYE').replace('Max-Forwards: 70', 'Max-Forwards: 70')),
    );
    expect(result.ok).toBe(false);
    // A CSeq/method mismatch leaves CSeq readable: answerable.
    expect(!result.ok && result.answerable?.method).toBe('INVITE');
    const noVia = decodeSip(enc(invite.replace(/Via: .*\r\n/, '')));
    expect(!noVia.ok && noVia.answerable).toBeUndefined();
  });

  it('enforces its bounds', () => {
    expect(expectBadSip(invite + ' '.repeat(20_000), 'TOO_LARGE').code).toBe('TOO_LARGE');
    const manyHeaders = invite.replace('Max-Forwards: 70\r\n', 'X-A: 1\r\n'.repeat(70));
    expectBadSip(manyHeaders, 'TOO_LARGE');
    expectBadSip(invite.replace('Max-Forwards: 70', `X-Long: ${'a'.repeat(5000)}`), 'TOO_LARGE');
    expect(() => parseSipMessage(enc(manyHeaders), { maxHeaders: 100 })).not.toThrow();
  });

  it('serializes with a computed Content-Length and round-trips', () => {
    const request = parseSipMessage(enc(invite)) as SipRequest;
    request.headers.set('Content-Length', '9999');
    const again = parseSipMessage(serializeSip(request));
    expect(again.headers.get('content-length')).toBe(String(body.length));
    expect(bodyText(again)).toBe(body);
    expect(again.headers.getAll('via')).toEqual(request.headers.getAll('via'));
  });

  it('refuses header injection when building', () => {
    expect(() => new SipHeaders().append('X', 'a\r\nVia: evil')).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    );
    expect(() => new SipHeaders().append('Bad Name', 'a')).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    );
  });

  it('builds responses per RFC 3261 §8.2.6', () => {
    const request = parseSipMessage(enc(invite)) as SipRequest;
    const response = createResponse(request, 200, { toTag: 'xyz' });
    expect(response.headers.get('to')).toBe('Bob <sip:bob@biloxi.example.com>;tag=xyz');
    expect(response.headers.get('via')).toBe(request.headers.get('via'));
    expect(createResponse(request, 100, { toTag: 'xyz' }).headers.get('to')).not.toContain('tag=');
  });
});

describe('SIP header values', () => {
  it('reads Via with rport and stamps received/rport (RFC 3581)', () => {
    const via = parseVia('SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bKx;rport');
    expect(via?.host).toBe('10.0.0.1');
    const stamped = stampReceived(via!, { address: '203.0.113.4', port: 40001 });
    expect(stamped.params.get('received')).toBe('203.0.113.4');
    expect(stamped.params.get('rport')).toBe('40001');
    expect(responseTarget(stamped)).toEqual({ address: '203.0.113.4', port: 40001 });
    expect(responseTarget(parseVia('SIP/2.0/UDP [::1];branch=z9hG4bK1')!)).toEqual({
      address: '::1',
      port: 5060,
    });
  });

  it('reads name-addr and URIs', () => {
    expect(parseNameAddr('"A, B" <sip:a@h;lr>;tag=9')).toMatchObject({ display: 'A, B', uri: 'sip:a@h;lr' });
    expect(parseNameAddr('sip:a@h;tag=9')?.params.get('tag')).toBe('9');
    expect(parseSipUri('sip:alice:pw@[2001:db8::1]:5070;transport=udp')).toMatchObject({
      user: 'alice',
      host: '2001:db8::1',
      port: 5070,
    });
    expect(parseSipUri('http://x')).toBeUndefined();
    expect(parseSipUri('sip:a@h:99999')).toBeUndefined();
  });
});

describe('SipHeaders (case-insensitive, compact forms, ordered)', () => {
  const names = [
    'Via',
    'v',
    'VIA',
    'Contact',
    'm',
    'call-id',
    'i',
    'CSeq',
    'cseq',
    'X-Foo',
    'x-foo',
    'Route',
  ];
  const keyOf = (name: string) =>
    ({ v: 'via', m: 'contact', i: 'call-id' })[name.toLowerCase()] ?? name.toLowerCase();
  const display: Record<string, string> = {
    via: 'Via',
    contact: 'Contact',
    'call-id': 'Call-ID',
    cseq: 'CSeq',
    'x-foo': 'X-Foo',
    route: 'Route',
  };
  type Op = { op: 'append' | 'prepend' | 'set' | 'setFirst' | 'delete'; name: string; value: string };

  it('behaves as an ordered list of (key, value) under any sequence of edits, and clones independently', () => {
    const op = fc.record({
      op: fc.constantFrom('append', 'prepend', 'set', 'setFirst', 'delete'),
      name: fc.constantFrom(...names),
      value: fc.stringMatching(/^[a-z0-9;=]{1,6}$/),
    });
    fc.assert(
      fc.property(
        fc.array(op, { maxLength: 30 }),
        fc.array(op, { maxLength: 5 }),
        (ops: Op[], more: Op[]) => {
          const headers = new SipHeaders();
          let model: [string, string][] = [];
          const apply = (
            h: SipHeaders,
            m: [string, string][],
            { op, name, value }: Op,
          ): [string, string][] => {
            const key = keyOf(name);
            const first = m.findIndex(([k]) => k === key);
            h[op](name, value);
            if (op === 'append') return [...m, [key, value]];
            if (op === 'prepend') return [[key, value], ...m];
            if (op === 'delete') return m.filter(([k]) => k !== key);
            if (op === 'setFirst' && first >= 0) return m.map((e, i) => (i === first ? [key, value] : e));
            if (op === 'setFirst') return [...m, [key, value]];
            const rest = m.filter(([k]) => k !== key);
            rest.splice(first < 0 ? rest.length : first, 0, [key, value]);
            return rest;
          };
          const check = (h: SipHeaders, m: [string, string][]) => {
            expect([...h].map((e) => [e.name, e.value])).toEqual(m.map(([k, v]) => [display[k], v]));
            expect(h.size).toBe(m.length);
            for (const name of names) {
              const values = m.filter(([k]) => k === keyOf(name)).map(([, v]) => v);
              expect(h.getAll(name)).toEqual(values);
              expect(h.get(name)).toBe(values[0]);
              expect(h.has(name)).toBe(values.length > 0);
            }
          };
          for (const o of ops) model = apply(headers, model, o);
          check(headers, model);
          const copy = headers.clone();
          let copyModel = model;
          for (const o of more) copyModel = apply(copy, copyModel, o);
          check(copy, copyModel);
          check(headers, model);
        },
      ),
      { numRuns: 150 },
    );
  });

  it('spells any number of distinct names right (the spelling memo is bounded, not the answers)', () => {
    const headers = new SipHeaders();
    for (let i = 0; i < 1_000; i++) headers.append(`x-name-${i}`, String(i));
    expect([...headers].map((h) => h.name)).toEqual(Array.from({ length: 1_000 }, (_, i) => `X-Name-${i}`));
    expect(headers.get('X-NAME-999')).toBe('999');
    expect(new SipHeaders([['www-authenticate', 'a']]).clone().getAll('WWW-Authenticate')).toEqual(['a']);
    expect([...new SipHeaders([['WWW-AUTHENTICATE', 'a']])][0]?.name).toBe('WWW-Authenticate');
  });

  it('writes Content-Length once, whatever spelling it was given in', () => {
    const request = parseSipMessage(
      enc(
        crlf(
          'OPTIONS sip:b@h SIP/2.0',
          'Via: SIP/2.0/UDP h;branch=z9hG4bK1',
          'From: <sip:a@h>;tag=1',
          'To: <sip:b@h>',
          'Call-ID: c',
          'CSeq: 1 OPTIONS',
          'l: 0',
          '',
          '',
        ),
      ),
    ) as SipRequest;
    request.headers.append('content-LENGTH', '42');
    const text = new TextDecoder().decode(serializeSip(request));
    expect(text.match(/content-length/gi)).toHaveLength(1);
    expect(text).toContain('Content-Length: 0\r\n\r\n');
  });
});

describe('SIP parser fuzzing', () => {
  const decodeNeverThrows = (bytes: Uint8Array) => {
    const result = decodeSip(bytes);
    if (!result.ok) expect(SessionError.is(result.error)).toBe(true);
  };

  it('never throws on random bytes', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 3000 }), decodeNeverThrows), { numRuns: 1000 });
  });

  it('never throws on mutated valid messages, and parses only what re-serializes', () => {
    const mutated = fc
      .array(fc.tuple(fc.nat(), fc.string({ maxLength: 10, unit: 'binary' }), fc.nat(6)), { maxLength: 6 })
      .map((edits) => {
        let text = invite;
        for (const [at, insert, remove] of edits) {
          const i = at % (text.length + 1);
          text = text.slice(0, i) + insert + text.slice(i + remove);
        }
        return enc(text);
      });
    fc.assert(
      fc.property(mutated, (bytes) => {
        const result = decodeSip(bytes);
        if (result.ok) expect(decodeSip(serializeSip(result.message)).ok).toBe(true);
        else expect(SessionError.is(result.error)).toBe(true);
      }),
      { numRuns: 1000 },
    );
  });

  it('never throws on header soup', () => {
    const header = fc.oneof(
      fc.constantFrom(
        'Via: SIP/2.0/UDP h;branch=z9hG4bK1',
        'CSeq: 1 INVITE',
        'Call-ID: a',
        'From: <sip:a@h>;tag=1',
        'To: <sip:b@h>',
        'l: 3',
        'Content-Length: 99999999999',
      ),
      fc
        .tuple(
          fc.constantFrom('v', 'f', 't', 'i', 'l', 'm', 'Via', 'Contact', 'Route', 'X'),
          fc.string({ maxLength: 30 }),
        )
        .map(([n, v]) => `${n}: ${v}`),
      fc.string({ maxLength: 30 }).map((s) => ` ${s}`),
    );
    fc.assert(
      fc.property(fc.array(header, { maxLength: 20 }), fc.string({ maxLength: 20 }), (headers, rest) =>
        decodeNeverThrows(enc(['INVITE sip:a@b SIP/2.0', ...headers, '', rest].join('\r\n'))),
      ),
      { numRuns: 1000 },
    );
  });
});
