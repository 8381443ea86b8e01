import { describe, expect, it } from 'vitest';
import {
  RFC4475_INVALID,
  RFC4475_PARSEABLE,
  RFC4475_VALID,
  type SipTortureMessage,
} from '@xpp/session-sdp/testing';
import {
  SessionError,
  SipHeaders,
  bodyText,
  createResponse,
  decodeSip,
  parseCSeq,
  parseNameAddr,
  parseSipMessage,
  parseSipUri,
  parseVia,
  serializeSip,
  type SipMessage,
  type SipRequest,
} from '@xpp/session-sdp';

const byName = (list: readonly SipTortureMessage[], name: string): SipTortureMessage => {
  const found = list.find((m) => m.name === name);
  if (found === undefined) throw new Error(`no fixture ${name}`);
  return found;
};
const parse = (name: string): SipMessage => parseSipMessage(byName(RFC4475_VALID, name).bytes);
const request = (name: string): SipRequest => {
  const message = parse(name);
  if (message.kind !== 'request') throw new Error(`${name} is not a request`);
  return message;
};

describe('RFC 4475 §3.1.1: valid messages parse to the right fields', () => {
  it.each(RFC4475_VALID.map((m) => [m.name, m] as const))('%s parses', (_name, fixture) => {
    const decoded = decodeSip(fixture.bytes);
    expect(decoded.ok, decoded.ok ? '' : decoded.error.message).toBe(true);
  });

  it('wsinv: folding, odd spacing, compact forms and case in names, unknown headers', () => {
    const m = request('wsinv');
    expect(m.method).toBe('INVITE');
    expect(m.uri).toBe('sip:vivekg@chair-dnrc.example.com;unknownparam');
    expect(parseNameAddr(m.headers.get('to') ?? '')?.params.get('tag')).toBe('1918181833n');
    const from = parseNameAddr(m.headers.get('from') ?? '');
    expect(from?.display).toBe(String.raw`J Rosenberg \\\"`);
    expect(from?.uri).toBe('sip:jdrosen@example.com');
    expect(from?.params.get('tag')).toBe('98asjd8');
    expect(m.headers.get('max-forwards')).toBe('0068');
    expect(parseCSeq(m.headers.get('cseq'))).toEqual({ seq: 9, method: 'INVITE' });
    const vias = m.headers.getAll('via').map((v) => parseVia(v));
    expect(vias.map((v) => [v?.protocol, v?.host, v?.params.get('branch')])).toEqual([
      ['SIP/2.0/UDP', '192.0.2.2', '390skdjuw'],
      ['SIP/2.0/TCP', 'spindle.example.com', 'z9hG4bK9ikj8'],
      ['SIP/2.0/UDP', '192.168.255.111', 'z9hG4bK30239'],
    ]);
    expect(m.headers.get('newfangledheader')).toBe('newfangled value continued newfangled value');
    expect(m.headers.get('unknownheaderwithunusualvalue')).toBe(';;,,;;,;');
    expect(m.headers.get('subject')).toBe('');
    const contact = parseNameAddr(m.headers.get('contact') ?? '');
    expect(contact?.display).toBe(String.raw`Quoted string \"\"`);
    expect([...(contact?.params ?? [])]).toEqual([
      ['newparam', 'newvalue'],
      ['secondparam', null],
      ['q', '0.33'],
    ]);
    expect(bodyText(m)).toContain('c=IN IP4 192.0.2.2');
    expect(m.body.length).toBe(Number(m.headers.get('content-length')));
  });

  it('intmeth: every token character in method and tags, userinfo with ;?/ and a password, NUL as a quoted-pair', () => {
    const m = request('intmeth');
    const method = "!interesting-Method0123456789_*+`.%indeed'~";
    expect(m.method).toBe(method);
    expect(parseCSeq(m.headers.get('cseq'))).toEqual({ seq: 139122385, method });
    const uri = parseSipUri(m.uri);
    expect(uri?.user).toBe("1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*");
    expect(uri?.host).toBe('example.com');
    expect(uri?.params.size).toBe(0);
    expect(parseNameAddr(m.headers.get('to') ?? '')?.display).toBe('BEL:\\\x07 NUL:\\\x00 DEL:\\\x7f');
    const from = parseNameAddr(m.headers.get('from') ?? '');
    expect(from?.display).toBe("token1~` token2'+_ token3*%!.-");
    expect(from?.params.get('tag')).toBe("_token~1'+`*%!-.");
    expect(m.headers.get('call-id')).toBe('intmeth.word%ZK-!.*_+\'@word`~)(><:\\/"][?}{');
    expect(m.headers.get("extensionHeader-!.%*+_`'~")).toContain('\u5927\u505c\u96fb');
    // What was read is written back: the quoted NUL survives a round trip.
    expect(parseSipMessage(serializeSip(m)).headers.get('to')).toBe(m.headers.get('to'));
  });

  it('esc01, escnull, esc02: escapes are kept, never decoded into syntax', () => {
    const esc01 = request('esc01');
    const uri = parseSipUri(esc01.uri);
    expect([uri?.scheme, uri?.user, uri?.host]).toEqual(['sip', 'sips%3Auser%40example.com', 'example.net']);
    const contact = parseSipUri(parseNameAddr(esc01.headers.get('contact') ?? '')?.uri ?? '');
    expect(contact?.params.get('n%61me')).toBe('v%61lue%25%34%31');
    const escnull = request('escnull');
    expect(escnull.headers.getAll('contact')).toHaveLength(2);
    expect(parseSipUri(parseNameAddr(escnull.headers.get('to') ?? '')?.uri ?? '')?.user).toBe(
      'null-%00-null',
    );
    const esc02 = request('esc02');
    expect(esc02.method).toBe('RE%47IST%45R'); // not REGISTER
    expect(esc02.headers.getAll('contact')).toHaveLength(2);
    expect(esc02.headers.get('C%6Fntact')).toBe('<sip:alias2@host2.example.com>');
    expect(parseNameAddr(esc02.headers.get('to') ?? '')?.display).toBe('%Z%45');
  });

  it('lwsdisp, longreq, dblreq, semiuri, transports', () => {
    expect(parseNameAddr(request('lwsdisp').headers.get('from') ?? '')?.display).toBe('caller');
    const long = request('longreq');
    expect(long.headers.getAll('via')).toHaveLength(34);
    expect(parseSipUri(parseNameAddr(long.headers.get('to') ?? '')?.uri ?? '')?.port).toBe(6000);
    expect(long.body.length).toBe(Number(long.headers.get('content-length')));
    const dbl = request('dblreq');
    expect([dbl.method, dbl.body.length]).toEqual(['REGISTER', 0]); // the INVITE after it is ignored
    const semi = parseSipUri(request('semiuri').uri);
    expect([semi?.user, semi?.host]).toEqual(['user;par=u%40example.net', 'example.com']);
    expect(semi?.params.size).toBe(0);
    const protocols = request('transports')
      .headers.getAll('via')
      .map((v) => parseVia(v)?.protocol);
    expect(protocols).toEqual([
      'SIP/2.0/UDP',
      'SIP/2.0/SCTP',
      'SIP/2.0/TLS',
      'SIP/2.0/UNKNOWN',
      'SIP/2.0/TCP',
    ]);
  });

  it('mpart01: a binary multipart body is kept octet for octet', () => {
    const fixture = byName(RFC4475_VALID, 'mpart01');
    const m = parse('mpart01');
    const length = Number(m.headers.get('content-length'));
    expect(m.body.length).toBe(length);
    expect(
      Buffer.from(m.body).equals(Buffer.from(fixture.bytes.subarray(fixture.bytes.length - length))),
    ).toBe(true);
  });

  it('unreason, noreason: any UTF-8 reason phrase, or none', () => {
    const unreason = parse('unreason');
    expect(unreason.kind === 'response' && [unreason.status, unreason.reason]).toEqual([
      200,
      '= 2**3 * 5**2 \u043d\u043e \u0441\u0442\u043e \u0434\u0435\u0432\u044f\u043d\u043e\u0441\u0442\u043e \u0434\u0435\u0432\u044f\u0442\u044c - \u043f\u0440\u043e\u0441\u0442\u043e\u0435',
    ]);
    const noreason = parse('noreason');
    expect(noreason.kind === 'response' && [noreason.status, noreason.reason]).toEqual([100, '']);
  });
});

describe('RFC 4475 §3.1.2 and §3.3: invalid messages get a typed error and, when requests, a 400 or 505', () => {
  it.each(RFC4475_INVALID.map((m) => [m.name, m] as const))('%s', (_name, fixture) => {
    const decoded = decodeSip(fixture.bytes);
    expect(decoded.ok).toBe(false);
    if (decoded.ok) return;
    expect(decoded.error).toBeInstanceOf(SessionError);
    expect(decoded.error.code).toBe('BAD_SIP');
    expect(() => parseSipMessage(fixture.bytes)).toThrow(SessionError);
    if (fixture.expect === 'drop' || fixture.expect === 'valid') {
      expect(decoded.answerable).toBeUndefined();
      return;
    }
    expect(decoded.status).toBe(fixture.expect);
    const answerable = decoded.answerable;
    expect(answerable).toBeDefined();
    if (answerable === undefined) return;
    // The answer can be built and sent, and echoes what the request carried (broken or not: not reparsed).
    const text = Buffer.from(serializeSip(createResponse(answerable, fixture.expect))).toString('utf8');
    expect(text.startsWith(`SIP/2.0 ${fixture.expect} `)).toBe(true);
    for (const via of answerable.headers.getAll('via')) expect(text).toContain(`Via: ${via}\r\n`);
    const callId = answerable.headers.get('call-id');
    if (callId !== undefined) expect(text).toContain(`Call-ID: ${callId}\r\n`);
  });

  it('a header missing from the request is left out of the answer, not sent empty (insuf)', () => {
    const decoded = decodeSip(byName(RFC4475_INVALID, 'insuf').bytes);
    const answerable = decoded.ok ? undefined : decoded.answerable;
    const response = createResponse(answerable as SipRequest, 400);
    expect(['from', 'to', 'call-id'].map((h) => response.headers.has(h))).toEqual([false, false, false]);
    expect(response.headers.get('cseq')).toBe('8 INVITE');
  });

  it('the stated reason for each (what a log or a 400 reason phrase shows)', () => {
    const reasons = Object.fromEntries(
      RFC4475_INVALID.map((m) => {
        const decoded = decodeSip(m.bytes);
        return [m.name, decoded.ok ? 'ok' : decoded.error.message];
      }),
    );
    expect(reasons).toMatchObject({
      clerr: expect.stringContaining('Content-Length 9999'),
      ncl: expect.stringContaining('bad Content-Length'),
      scalar02: expect.stringContaining('CSeq'),
      quotbal: expect.stringContaining('To'),
      ltgtruri: expect.stringContaining('Request-URI'),
      lwsruri: expect.stringContaining('Request-Line'),
      escruri: expect.stringContaining('escaped headers'),
      baddate: expect.stringContaining('Date'),
      regbadct: expect.stringContaining('Contact'),
      badaspec: expect.stringContaining('From'),
      baddn: expect.stringContaining('From'),
      badvers: expect.stringContaining('SIP/7.0'),
      mismatch01: expect.stringContaining('CSeq method'),
      multi01: expect.stringContaining('more than one'),
      mcl01: expect.stringContaining('Content-Length'),
    });
  });
});

describe("RFC 4475 §3.2-§3.4: parseable oddities are the application's to judge", () => {
  it.each(RFC4475_PARSEABLE.map((m) => [m.name, m] as const))('%s parses', (_name, fixture) => {
    const decoded = decodeSip(fixture.bytes);
    expect(decoded.ok, decoded.ok ? '' : decoded.error.message).toBe(true);
  });

  it('keeps an unknown scheme opaque, and reads an RFC 2543 Via without branch', () => {
    const unkscm = parseSipMessage(byName(RFC4475_PARSEABLE, 'unkscm').bytes);
    expect(unkscm.kind === 'request' && unkscm.uri).toBe('nobodyKnowsThisScheme:totallyopaquecontent');
    const inv = parseSipMessage(byName(RFC4475_PARSEABLE, 'inv2543').bytes);
    expect(parseVia(inv.headers.get('via') ?? '')?.params.has('branch')).toBe(false);
  });
});

describe('RFC 4475 §3.3.12-§3.3.14: whose parameter is it', () => {
  const contact = (name: string) =>
    parseNameAddr(parseSipMessage(byName(RFC4475_PARSEABLE, name).bytes).headers.get('contact') ?? '');
  it('cparam01: without angle brackets unknownparam is the header field’s; cparam02: inside them the URI’s', () => {
    expect(contact('cparam01')?.uri).toBe('sip:+19725552222@gw1.example.net');
    expect(contact('cparam01')?.params.has('unknownparam')).toBe(true);
    expect(contact('cparam02')?.uri).toBe('sip:+19725552222@gw1.example.net;unknownparam');
    expect(parseSipUri(contact('cparam02')?.uri ?? '')?.params.has('unknownparam')).toBe(true);
  });
  it('regescrt: the escaped header stays part of the contact URI', () => {
    expect(contact('regescrt')?.uri).toBe('sip:user@example.com?Route=%3Csip:sip.example.com%3E');
  });
});

describe('NUL only as a quoted-pair (what intmeth needs, nothing more)', () => {
  it('refuses a NUL outside a quoted string, or escaped outside one, in a datagram and when building', () => {
    const base = String(Buffer.from(byName(RFC4475_VALID, 'lwsdisp').bytes));
    for (const subject of ['a\0b', '\\\0', '"a" \0', '"a\\\0']) {
      const datagram = Buffer.from(base.replace('l: 0', `Subject: ${subject}\r\nl: 0`));
      expect(decodeSip(datagram).ok, JSON.stringify(subject)).toBe(false);
      expect(() => new SipHeaders().append('Subject', subject)).toThrow(SessionError);
    }
    const quoted = '"a\\\0b"';
    expect(new SipHeaders().append('Subject', quoted).get('subject')).toBe(quoted);
    expect(() => new SipHeaders().append('Subject', '"a\\\r\nVia: x"')).toThrow(SessionError);
  });
});
