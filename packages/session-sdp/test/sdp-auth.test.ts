import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  AUTH_TRANSCRIPT_LABEL,
  MAX_XPP_AUTH_OCTETS,
  SessionError,
  authTranscript,
  buildSdp,
  parseSdp,
  type XppDescription,
} from '@xpp/session-sdp';
import { sdpParseError, sdpWithLine } from './support/sdp.js';

const key = new Uint8Array(32).map((_, i) => i);
const base: XppDescription = {
  address: '127.0.0.1',
  port: 5000,
  ltag: 0x1234,
  candidates: [],
  publicKey: key,
};
const withAuthLine = (value: string) => sdpWithLine(base, 'xpp-key', `a=xpp-auth:${value}`);

describe('a=xpp-auth in the SDP codec (xpp-pcan §5.5)', () => {
  it('writes the media-level attribute as unpadded base64url and reads the same octets back', () => {
    const auth = Uint8Array.of(0xfb, 0xff, 0x00, 1, 2);
    const text = buildSdp({ ...base, auth });
    expect(text).toContain('a=xpp-auth:-_8AAQI\r\n');
    expect(text.indexOf('a=xpp-auth')).toBeGreaterThan(text.indexOf('m=application'));
    expect(parseSdp(text).auth).toEqual(auth);
    expect(parseSdp(buildSdp(base)).auth).toBeUndefined();
  });

  it('refuses padded, non-url, non-canonical, empty, duplicate and oversized values with BAD_SDP', () => {
    for (const value of ['-_8AAQI=', '+/8AAQI', '-_8AAQJ', '', 'A', 'ab cd']) {
      expect(sdpParseError(withAuthLine(value))?.code, value).toBe('BAD_SDP');
    }
    const twice = withAuthLine('AQI').replace('a=xpp-auth:AQI\r\n', 'a=xpp-auth:AQI\r\na=xpp-auth:AQI\r\n');
    expect(sdpParseError(twice)?.code).toBe('BAD_SDP');
    const largest = Buffer.alloc(MAX_XPP_AUTH_OCTETS, 7).toString('base64url');
    expect(parseSdp(withAuthLine(largest)).auth?.length).toBe(MAX_XPP_AUTH_OCTETS);
    const over = Buffer.alloc(MAX_XPP_AUTH_OCTETS + 1, 7).toString('base64url');
    expect(sdpParseError(withAuthLine(over))?.code).toBe('BAD_SDP');
  });

  it('refuses to build an empty or oversized auth', () => {
    for (const auth of [new Uint8Array(0), new Uint8Array(MAX_XPP_AUTH_OCTETS + 1)]) {
      expect(() => buildSdp({ ...base, auth })).toThrow(
        expect.objectContaining({ code: 'INVALID_ARGUMENT' }) as Error,
      );
    }
  });

  it('round-trips every auth it builds', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: MAX_XPP_AUTH_OCTETS }), (auth) => {
        expect(parseSdp(buildSdp({ ...base, auth })).auth).toEqual(auth);
      }),
      { numRuns: 200 },
    );
  });

  it('throws nothing but SessionError for hostile xpp-auth values', () => {
    const hostile = fc.oneof(
      fc.string({ maxLength: 1500 }),
      fc.stringMatching(/^[A-Za-z0-9_=+/-]{0,1500}$/),
      fc.uint8Array({ maxLength: 1100 }).map((b) => Buffer.from(b).toString('base64')),
    );
    fc.assert(
      fc.property(hostile, (value) => {
        const error = sdpParseError(withAuthLine(value));
        if (error !== undefined) expect(['BAD_SDP', 'TOO_LARGE']).toContain(error.code);
      }),
      { numRuns: 500 },
    );
  });
});

describe('authTranscript', () => {
  const offerKey = new Uint8Array(32).fill(0xaa);
  const answerKey = new Uint8Array(32).fill(0xbb);

  it('is label ‖ Call-ID ‖ ltag ‖ key, and for an answer the offer ltag and key after', () => {
    const offer = authTranscript({ callId: 'abc@h', ltag: 0x0102, publicKey: offerKey });
    expect(Buffer.from(offer).toString('hex')).toBe(
      Buffer.concat([
        Buffer.from(`${AUTH_TRANSCRIPT_LABEL}abc@h`, 'ascii'),
        Buffer.of(1, 2),
        offerKey,
      ]).toString('hex'),
    );
    expect(AUTH_TRANSCRIPT_LABEL).toBe('xpp-auth v1');
    const answer = authTranscript({
      callId: 'abc@h',
      ltag: 0xfffe,
      publicKey: answerKey,
      offer: { ltag: 0x0102, publicKey: offerKey },
    });
    expect(answer.length).toBe(11 + 5 + 2 * 34);
    expect([...answer.subarray(16, 18)]).toEqual([0xff, 0xfe]);
    expect([...answer.subarray(50, 52)]).toEqual([1, 2]);
  });

  it('changes with every field', () => {
    const t = (callId: string, ltag: number, k: Uint8Array) =>
      Buffer.from(authTranscript({ callId, ltag, publicKey: k })).toString('hex');
    const reference = t('a@b', 1, offerKey);
    expect(
      new Set([reference, t('a@c', 1, offerKey), t('a@b', 2, offerKey), t('a@b', 1, answerKey)]).size,
    ).toBe(4);
  });

  it('refuses an out-of-range ltag or a key that is not 32 octets', () => {
    expect(() => authTranscript({ callId: 'x', ltag: 0x10000, publicKey: offerKey })).toThrow(SessionError);
    expect(() => authTranscript({ callId: 'x', ltag: 1, publicKey: new Uint8Array(31) })).toThrow(
      SessionError,
    );
  });
});
