import { describe, expect, it } from 'vitest';
import {
  buildSdp,
  decodeSip,
  formatSipUri,
  formatVia,
  parseNameAddr,
  parseSdp,
  parseSipMessage,
  parseSipUri,
  parseVia,
  responseTarget,
  stampReceived,
} from '@xpp/session-sdp';

// RFC 5118 (IPv6 in SIP) §4, its cases rewritten as requests of this test's own.
const encode = (text: string) => new TextEncoder().encode(text);
let n = 0;
function register(uri: string, headers: Record<string, string> = {}): Uint8Array {
  n++;
  const all: Record<string, string> = {
    To: 'sip:user@[2001:db8::10]',
    From: `sip:user@[2001:db8::10];tag=81x2${n}`,
    'Call-ID': `rfc5118-${n}@[2001:db8::9:1]`,
    'Max-Forwards': '70',
    CSeq: `${n} REGISTER`,
    Via: `SIP/2.0/UDP [2001:db8::9:1];branch=z9hG4bKas3-${n}`,
    Contact: '"Caller" <sip:caller@[2001:db8::1]>',
    ...headers,
  };
  const lines = Object.entries(all).map(([k, v]) => `${k}: ${v}`);
  return encode(`REGISTER ${uri} SIP/2.0\r\n${lines.join('\r\n')}\r\nContent-Length: 0\r\n\r\n`);
}

describe('RFC 5118 §4: IPv6 references in SIP', () => {
  it('§4.1 ipv6-good: Request-URI, To, Via and Contact with bracketed references', () => {
    const m = parseSipMessage(register('sip:[2001:db8::10]'));
    expect(m.kind === 'request' && parseSipUri(m.uri)).toMatchObject({ host: '2001:db8::10' });
    expect(parseVia(m.headers.get('via') ?? '')?.host).toBe('2001:db8::9:1');
    expect(parseSipUri(parseNameAddr(m.headers.get('contact') ?? '')?.uri ?? '')?.host).toBe('2001:db8::1');
    expect(parseSipUri(parseNameAddr(m.headers.get('to') ?? '')?.uri ?? '')?.host).toBe('2001:db8::10');
  });

  it('§4.2 ipv6-bad and its kin: an unbracketed reference is refused with 400, wherever it is', () => {
    for (const datagram of [
      register('sip:2001:db8::10'),
      register('sip:user@2001:db8::10'),
      register('sip:[2001:db8::10]', { Via: 'SIP/2.0/UDP 2001:db8::9:1;branch=z9hG4bKas3' }),
      register('sip:[2001:db8::10]', { Via: 'SIP/2.0/UDP 2001:db8::9:1:5060;branch=z9hG4bKas3' }),
      register('sip:[2001:db8::10]', { Contact: '<sip:caller@2001:db8::1>' }),
      register('sip:[2001:db8::10]', { Contact: '<sip:caller@2001:db8::1:5060>' }),
    ]) {
      const decoded = decodeSip(datagram);
      expect(decoded.ok).toBe(false);
      expect(decoded.ok ? undefined : decoded.status).toBe(400);
    }
    expect(parseSipUri('sip:2001:db8::10')).toBeUndefined();
    expect(parseSipUri('sip:[2001:db8::10')).toBeUndefined();
    expect(parseSipUri('sip:[example.com]')).toBeUndefined();
    expect(parseVia('SIP/2.0/UDP ::1;branch=z9hG4bK1')).toBeUndefined();
  });

  it('§4.3 port-ambiguous and §4.4 port-unambiguous: what is inside the brackets is all address', () => {
    expect(parseSipUri('sip:[2001:db8::10:5070]')).toMatchObject({ host: '2001:db8::10:5070' });
    expect(parseSipUri('sip:[2001:db8::10:5070]')?.port).toBeUndefined();
    expect(parseSipUri('sip:user@[2001:db8::10]:5070')).toMatchObject({ host: '2001:db8::10', port: 5070 });
    for (const uri of ['sip:[2001:db8::10:5070]', 'sip:[2001:db8::10]:5070'])
      expect(decodeSip(register(uri)).ok).toBe(true);
    expect(parseSipUri('sip:[2001:db8::10]:0')).toBeUndefined();
    expect(parseSipUri('sip:[2001:db8::10]:65536')).toBeUndefined();
  });

  it('§4.5 via-received: with or without brackets, the response goes to the address; sent-by with a port', () => {
    for (const received of ['[2001:db8::9:255]', '2001:db8::9:255']) {
      const via = parseVia(`SIP/2.0/UDP [2001:db8::9:1]:6050;branch=z9hG4bKas3;received=${received}`);
      expect(via).toMatchObject({ host: '2001:db8::9:1', port: 6050 });
      expect(responseTarget(via!)).toEqual({ address: '2001:db8::9:255', port: 6050 });
    }
    const stamped = stampReceived(parseVia('SIP/2.0/UDP [::1]:5070;branch=z9hG4bK1;rport')!, {
      address: '::1',
      port: 40000,
    });
    expect(formatVia(stamped)).toBe('SIP/2.0/UDP [::1]:5070;branch=z9hG4bK1;rport=40000;received=::1');
    expect(responseTarget(parseVia(formatVia(stamped))!)).toEqual({ address: '::1', port: 40000 });
  });

  it('§4.6-4.8: SDP with c=IN IP6, several addresses of both families in one header', () => {
    const sdp = buildSdp({ address: '2001:db8::1', port: 6000, ltag: 1, candidates: [] });
    expect(sdp).toContain('c=IN IP6 2001:db8::1');
    expect(parseSdp(sdp).address).toBe('2001:db8::1');
    const m = parseSipMessage(
      register('sip:[2001:db8::10]', {
        Via: 'SIP/2.0/UDP [2001:db8::9:1];branch=z9hG4bKas3, SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKjhja8781hjuaij65144',
        Contact: '"Caller" <sip:caller@[2001:db8::9:1]>, "Caller" <sip:caller@192.0.2.1>',
      }),
    );
    expect(m.headers.getAll('via').map((v) => parseVia(v)?.host)).toEqual(['2001:db8::9:1', '192.0.2.1']);
    expect(m.headers.getAll('contact').map((c) => parseSipUri(parseNameAddr(c)?.uri ?? '')?.host)).toEqual([
      '2001:db8::9:1',
      '192.0.2.1',
    ]);
  });

  it('§4.9 IPv4-mapped addresses and §4.10 the 3261 ABNF bug: two colons before an IPv4 tail, never three', () => {
    expect(parseSipUri('sip:user@[::ffff:192.0.2.1]')?.host).toBe('::ffff:192.0.2.1');
    expect(parseSipUri('sip:user@[2001:db8::192.0.2.1]')?.host).toBe('2001:db8::192.0.2.1');
    expect(parseSipUri('sip:user@[2001:db8:::192.0.2.1]')).toBeUndefined();
    expect(decodeSip(register('sip:user@[2001:db8:::192.0.2.1]')).ok).toBe(false);
  });

  it('formats IPv6 hosts bracketed in URIs and Vias, and reads them back', () => {
    const uri = formatSipUri({ scheme: 'sip', user: 'alice', host: '::1', port: 5060, params: new Map() });
    expect(uri).toBe('sip:alice@[::1]:5060');
    expect(parseSipUri(uri)).toMatchObject({ host: '::1', port: 5060 });
    const via = formatVia({ protocol: 'SIP/2.0/UDP', host: 'fd00::7', port: 5060, params: new Map() });
    expect(via).toBe('SIP/2.0/UDP [fd00::7]:5060');
  });
});
