import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SessionError, buildSdp, parseSdp, type XppDescription } from '@xpp/session-sdp';
import { candidateTargets, makeCandidate } from '../src/sdp/candidate.js';
import { formatLtag, parseLtagValue } from '../src/sdp/ltag.js';

const key = new Uint8Array(32).map((_, i) => i * 7);
const offer: XppDescription = {
  address: '192.0.2.10',
  port: 40000,
  ltag: 0xbeef,
  candidates: [
    makeCandidate('host', { address: '192.0.2.10', port: 40000 }),
    makeCandidate('srflx', { address: '203.0.113.9', port: 61000 }, { address: '192.0.2.10', port: 40000 }),
  ],
  publicKey: key,
};

function expectBadSdp(text: string, lineNumber?: number): SessionError {
  try {
    parseSdp(text);
  } catch (error) {
    expect(SessionError.is(error, 'BAD_SDP')).toBe(true);
    if (lineNumber !== undefined) expect((error as SessionError).lineNumber).toBe(lineNumber);
    return error as SessionError;
  }
  throw new Error('parseSdp accepted an unusable SDP');
}

const minimal = (ltagLine: string) =>
  [
    'v=0',
    'o=- 1 1 IN IP4 127.0.0.1',
    's=-',
    'c=IN IP4 127.0.0.1',
    't=0 0',
    'm=application 5000 UDP/XPP *',
    ltagLine,
    '',
  ].join('\r\n');

describe('buildSdp / parseSdp', () => {
  it('writes the spec §4 lines and reads them back', () => {
    const text = buildSdp(offer, { sessionId: '42' });
    expect(text).toContain('m=application 40000 UDP/XPP *\r\n');
    expect(text).toContain('c=IN IP4 192.0.2.10\r\n');
    expect(text).toContain('a=ltag:0xBEEF\r\n');
    expect(text).toContain('a=candidate:h1920210 1 UDP 2130706431 192.0.2.10 40000 typ host\r\n');
    expect(text).toContain('typ srflx raddr 192.0.2.10 rport 40000\r\n');
    expect(text).toContain(`a=xpp-key:x25519:${Buffer.from(key).toString('base64url')}\r\n`);
    const parsed = parseSdp(text);
    expect(parsed).toEqual({ ...offer, ignoredLines: [] });
  });

  it('offers piggybacked ACKs with a=xpp-ack:piggyback, and reads it among unknown modes', () => {
    const text = buildSdp({ ...offer, piggybackAcks: true });
    expect(text).toContain('a=xpp-ack:piggyback\r\n');
    expect(parseSdp(text)).toEqual({ ...offer, piggybackAcks: true, ignoredLines: [] });
    expect(buildSdp(offer)).not.toContain('xpp-ack');
    expect(parseSdp(buildSdp(offer)).piggybackAcks).toBeUndefined();
    expect(parseSdp(minimal('a=ltag:0x1\r\na=xpp-ack: future piggyback')).piggybackAcks).toBe(true);
    expect(parseSdp(minimal('a=ltag:0x1\r\na=xpp-ack:future')).piggybackAcks).toBeUndefined();
    expect(parseSdp(minimal('a=ltag:0x1\r\na=xpp-ack:piggybacks')).piggybackAcks).toBeUndefined();
  });

  it('writes IPv6 descriptions', () => {
    const text = buildSdp({ address: '::1', port: 7, ltag: 1, candidates: [] });
    expect(text).toContain('c=IN IP6 ::1');
    expect(parseSdp(text).address).toBe('::1');
  });

  it.each([
    ['a=ltag:0xABCD', 0xabcd],
    ['a=ltag:0xabcd', 0xabcd],
    ['a=ltag: 0x00ff', 0xff],
    ['a=ltag:\t0X1', 1],
    ['a=Itag:0xBBBB', 0xbbbb],
    ['a=Itag: 0x0', 0],
  ])('accepts the lenient ltag form %s', (line, value) => {
    expect(parseSdp(minimal(line)).ltag).toBe(value);
  });

  it('accepts an ltag at session level and LF-only line ends', () => {
    const text = minimal('a=sendrecv').replace('t=0 0', 't=0 0\r\na=ltag:0x0102').replace(/\r\n/g, '\n');
    expect(parseSdp(text).ltag).toBe(0x0102);
  });

  it.each(['a=ltag:0xZZZZ', 'a=ltag:0x12345', 'a=ltag:1234', 'a=ltag:0x', 'a=ltag:'])(
    'refuses %s naming line 7',
    (line) => {
      const error = expectBadSdp(minimal(line), 7);
      expect(error.line).toBe(line);
      expect(error.message).toContain('line 7');
    },
  );

  it('refuses two different ltags, a missing ltag, a missing XPP media line, no address, a bad key', () => {
    expectBadSdp(minimal('a=ltag:0x1\r\na=ltag:0x2'), 8);
    expect(expectBadSdp(minimal('a=sendrecv')).message).toContain('no "a=ltag');
    expect(expectBadSdp(minimal('a=ltag:0x1').replace('UDP/XPP *', 'RTP/AVP 0')).message).toContain(
      'UDP/XPP',
    );
    expect(expectBadSdp(minimal('a=ltag:0x1').replace('5000 UDP/XPP', '0 UDP/XPP')).message).toContain(
      'UDP/XPP',
    );
    expectBadSdp(minimal('a=ltag:0x1').replace('c=IN IP4 127.0.0.1\r\n', ''), 5);
    expectBadSdp(minimal('a=ltag:0x1').replace('c=IN IP4 127.0.0.1', 'c=IN IP4 example.org'), 4);
    expectBadSdp(minimal('a=ltag:0x1\r\na=xpp-key:x25519:AAAA'), 8);
    expectBadSdp(minimal('a=ltag:0x1\r\na=xpp-key:p256:' + 'A'.repeat(43)), 8);
    expectBadSdp(minimal('a=ltag:0x1').replace('m=application', 'm=audio'), 6);
  });

  it('keeps host and srflx candidates and ignores others', () => {
    const text = minimal('a=ltag:0x1').concat(
      [
        'a=candidate:1 1 UDP 2130706431 10.0.0.1 5000 typ host',
        'a=candidate:2 1 udp 1694498815 198.51.100.1 6000 typ srflx raddr 10.0.0.1 rport 5000',
        'a=candidate:3 1 UDP 16777215 198.51.100.2 7000 typ relay raddr 10.0.0.1 rport 5000',
        'a=candidate:4 1 TCP 2130706431 10.0.0.1 5000 typ host',
        'a=candidate:5 1 UDP 2130706431 not-an-ip 5000 typ host',
        '',
      ].join('\r\n'),
    );
    const parsed = parseSdp(text);
    expect(parsed.candidates.map((c) => [c.type, c.address, c.port])).toEqual([
      ['host', '10.0.0.1', 5000],
      ['srflx', '198.51.100.1', 6000],
    ]);
    expect(parsed.candidates[1]?.related).toEqual({ address: '10.0.0.1', port: 5000 });
    expect(parsed.ignoredLines).toHaveLength(3);
    expect(candidateTargets(parsed)).toEqual([
      { address: '10.0.0.1', port: 5000 },
      { address: '198.51.100.1', port: 6000 },
      { address: '127.0.0.1', port: 5000 },
    ]);
  });

  it('bounds the body size and the candidate count', () => {
    expect(() => parseSdp(minimal('a=ltag:0x1') + 'a=x\r\n'.repeat(5000))).toThrow(
      expect.objectContaining({ code: 'TOO_LARGE' }),
    );
    const many = minimal('a=ltag:0x1') + 'a=candidate:1 1 UDP 1 10.0.0.1 5000 typ host\r\n'.repeat(40);
    const parsed = parseSdp(many, { maxCandidates: 4 });
    expect(parsed.candidates).toHaveLength(4);
    expect(parsed.ignoredLines).toHaveLength(36);
  });

  it('refuses to build what it could not send', () => {
    const code = { code: 'INVALID_ARGUMENT' };
    expect(() => buildSdp({ ...offer, ltag: 0x10000 })).toThrow(expect.objectContaining(code));
    expect(() => buildSdp({ ...offer, address: 'host.example' })).toThrow(expect.objectContaining(code));
    expect(() => buildSdp({ ...offer, port: 0 })).toThrow(expect.objectContaining(code));
    expect(() => buildSdp({ ...offer, publicKey: new Uint8Array(31) })).toThrow(
      expect.objectContaining(code),
    );
    expect(() =>
      buildSdp({ ...offer, candidates: [{ ...offer.candidates[0]!, foundation: 'a b' }] }),
    ).toThrow(expect.objectContaining(code));
  });

  it('formats and parses ltag values', () => {
    expect(formatLtag(0xa)).toBe('0x000A');
    expect(parseLtagValue(' 0xfFfF ')).toBe(0xffff);
    expect(parseLtagValue('0x-1')).toBeUndefined();
  });
});

const ip4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((p) => p.join('.'));
const port = fc.integer({ min: 1, max: 65535 });
const description = fc.record({
  address: ip4,
  port,
  ltag: fc.integer({ min: 0, max: 0xffff }),
  candidates: fc.array(
    fc
      .tuple(fc.constantFrom('host' as const, 'srflx' as const), ip4, port)
      .map(([type, address, p]) => makeCandidate(type, { address, port: p })),
    { maxLength: 5 },
  ),
  publicKey: fc.uint8Array({ minLength: 32, maxLength: 32 }),
});

function onlySessionErrors(text: string): void {
  try {
    parseSdp(text);
  } catch (error) {
    if (!SessionError.is(error)) throw error;
  }
}

describe('parseSdp properties', () => {
  it('round-trips every description it builds', () => {
    fc.assert(
      fc.property(description, (d) => {
        const parsed = parseSdp(buildSdp(d));
        expect(parsed.ltag).toBe(d.ltag);
        expect(parsed.address).toBe(d.address);
        expect(parsed.port).toBe(d.port);
        expect(parsed.candidates).toEqual(d.candidates);
        expect(parsed.publicKey).toEqual(d.publicKey);
      }),
    );
  });

  it('throws nothing but SessionError for random text', () => {
    fc.assert(fc.property(fc.string({ maxLength: 2000, unit: 'binary' }), onlySessionErrors), {
      numRuns: 500,
    });
  });

  it('throws nothing but SessionError for garbled valid bodies', () => {
    const garbled = fc
      .tuple(
        description,
        fc.array(fc.tuple(fc.nat(), fc.string({ maxLength: 12 }), fc.nat(8)), { maxLength: 8 }),
      )
      .map(([d, edits]) => {
        let text = buildSdp(d);
        for (const [at, insert, remove] of edits) {
          const i = at % (text.length + 1);
          text = text.slice(0, i) + insert + text.slice(i + remove);
        }
        return text;
      });
    fc.assert(fc.property(garbled, onlySessionErrors), { numRuns: 500 });
  });

  it('throws nothing but SessionError for line soup of SDP-looking lines', () => {
    const line = fc.oneof(
      fc.constantFrom(
        'v=0',
        'm=application 1 UDP/XPP *',
        'c=IN IP4 1.2.3.4',
        'c=IN IP6 ::',
        'a=ltag:0x1',
        'a=Itag: 0xffff',
      ),
      fc.string({ maxLength: 40 }).map((s) => `a=${s}`),
      fc.string({ maxLength: 40 }).map((s) => `m=${s}`),
      fc.string({ maxLength: 40 }).map((s) => `a=candidate:${s}`),
      fc.string({ maxLength: 40 }).map((s) => `c=${s}`),
    );
    fc.assert(
      fc.property(fc.array(line, { maxLength: 30 }), (lines) => onlySessionErrors(lines.join('\r\n'))),
      {
        numRuns: 1000,
      },
    );
  });
});
