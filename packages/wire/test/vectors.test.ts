import { describe, expect, it } from 'vitest';
import {
  decodeAckRanges,
  decodeAckTrailer,
  decodeFragment,
  decodeMessage,
  encodeAckRanges,
  encodeAckTrailer,
  encodeFragment,
  encodeMessage,
  fragmentFromJson,
  fragmentToJson,
  fromHex,
  messageFromJson,
  messageToJson,
  toHex,
  WireError,
  type AckRange,
} from '@xpp/wire';
import vectors from './vectors.json' with { type: 'json' };

interface Vector {
  name: string;
  kind: 'fragment' | 'message' | 'ackRanges' | 'ackTrailer';
  hex: string;
  json?: unknown;
  canonicalHex?: string;
  error?: string;
}

const all = vectors as Vector[];

describe('spec golden vectors', () => {
  it('golden 1: SYN|REL seq 0x1234 from 0xAAAA to 0xBBBB', () => {
    const f = decodeFragment(fromHex('10 14 12 34 AA AA BB BB'));
    expect(f).toMatchObject({ version: 1, flags: 0x14, seq: 0x1234, localId: 0xaaaa, remoteId: 0xbbbb });
    expect(f.payload.length).toBe(0);
    expect(toHex(encodeFragment({ flags: 0x14, seq: 0x1234, localId: 0xaaaa, remoteId: 0xbbbb }))).toBe(
      '10141234aaaabbbb',
    );
  });

  it('golden 2: PING number 7 with DATA "hi"', () => {
    const bytes = fromHex('00 00 00 07 00 01 00 00 00 00 00 06 00 03 00 02 68 69');
    const m = decodeMessage(bytes);
    expect(messageToJson(m)).toEqual({
      number: 7,
      response: false,
      type: 1,
      options: [{ type: 3, mandatory: false, value: '6869' }],
    });
    expect(toHex(encodeMessage(m))).toBe(toHex(bytes));
  });
});

describe('committed vectors (test/vectors.json)', () => {
  it('has at least 20 vectors of our own beyond the two golden ones', () => {
    expect(all.filter((v) => !v.name.startsWith('spec golden')).length).toBeGreaterThanOrEqual(20);
  });

  for (const v of all) {
    it(`${v.kind}: ${v.name}`, () => {
      const bytes = fromHex(v.hex);
      if (v.error !== undefined) {
        const decode = {
          fragment: decodeFragment,
          message: decodeMessage,
          ackRanges: decodeAckRanges,
          ackTrailer: decodeAckTrailer,
        }[v.kind];
        let caught: unknown;
        try {
          decode(bytes);
        } catch (error) {
          caught = error;
        }
        expect(WireError.is(caught)).toBe(true);
        expect((caught as WireError).code).toBe(v.error);
        return;
      }
      const canonical = v.canonicalHex ?? v.hex;
      if (v.kind === 'fragment') {
        expect(fragmentToJson(decodeFragment(bytes))).toEqual(v.json);
        expect(toHex(encodeFragment(fragmentFromJson(v.json)))).toBe(canonical);
      } else if (v.kind === 'message') {
        expect(messageToJson(decodeMessage(bytes))).toEqual(v.json);
        expect(toHex(encodeMessage(messageFromJson(v.json)))).toBe(canonical);
      } else if (v.kind === 'ackTrailer') {
        const { data, ranges } = decodeAckTrailer(bytes);
        expect({ data: toHex(data), ranges }).toEqual(v.json);
        const json = v.json as { data: string; ranges: AckRange[] };
        const out = new Uint8Array(bytes.length);
        out.set(fromHex(json.data));
        expect(encodeAckTrailer(json.ranges, out, json.data.length / 2)).toBe(
          bytes.length - json.data.length / 2,
        );
        expect(toHex(out)).toBe(canonical);
      } else {
        expect(decodeAckRanges(bytes)).toEqual(v.json);
        expect(toHex(encodeAckRanges(v.json as AckRange[]))).toBe(canonical);
      }
    });
  }
});
