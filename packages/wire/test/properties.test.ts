import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ackTrailerSize,
  decodeAckRanges,
  decodeAckTrailer,
  decodeFragment,
  decodeMessage,
  encodeAckRanges,
  encodeAckTrailer,
  encodeFragment,
  encodeMessage,
  errorCodec,
  fragmentFromJson,
  fragmentToJson,
  fromHex,
  messageFromJson,
  messageToJson,
  toHex,
  u16ListCodec,
  utf8Codec,
  WireError,
} from '@xpp/wire';
import {
  ackRangesArb,
  decodeEverything,
  fragmentArb,
  hostileBytesArb,
  messageArb,
  parseEverything,
} from './arbitraries.js';

// CI runs a few thousand cases per property; `pnpm --filter @xpp/wire fuzz` runs 100,000+.
const numRuns = Number(process.env['XPP_PROPERTY_RUNS'] ?? 2000);

describe('encode → decode is the identity', () => {
  it('fragments', () => {
    fc.assert(
      fc.property(fragmentArb, (f) => {
        const d = decodeFragment(encodeFragment(f));
        expect({ ...d, payload: [...d.payload] }).toEqual({ ...f, payload: [...(f.payload ?? [])] });
      }),
      { numRuns },
    );
  });

  it('messages (and decode → encode gives back the same octets)', () => {
    fc.assert(
      fc.property(messageArb, (m) => {
        const bytes = encodeMessage(m);
        const d = decodeMessage(bytes);
        expect(messageToJson(d)).toEqual(messageToJson(m));
        expect(toHex(encodeMessage(d))).toBe(toHex(bytes));
      }),
      { numRuns },
    );
  });

  it('ACK ranges', () => {
    fc.assert(
      fc.property(ackRangesArb, (ranges) => {
        expect(decodeAckRanges(encodeAckRanges(ranges))).toEqual(ranges);
      }),
      { numRuns },
    );
  });

  it('JSON and hex forms', () => {
    fc.assert(
      fc.property(fragmentArb, messageArb, fc.uint8Array(), (f, m, bytes) => {
        expect(
          toHex(encodeFragment(fragmentFromJson(fragmentToJson(decodeFragment(encodeFragment(f)))))),
        ).toBe(toHex(encodeFragment(f)));
        expect(toHex(encodeMessage(messageFromJson(messageToJson(m))))).toBe(toHex(encodeMessage(m)));
        expect([...fromHex(toHex(bytes))]).toEqual([...bytes]);
      }),
      { numRuns },
    );
  });

  it('value codecs', () => {
    fc.assert(
      fc.property(
        fc.string({ maxLength: 200, unit: 'grapheme' }),
        fc.integer({ min: 0, max: 0xffff }),
        fc.array(fc.integer({ min: 0, max: 0xffff }), { maxLength: 100 }),
        (text, code, list) => {
          expect(utf8Codec.decode(utf8Codec.encode(text))).toBe(text);
          expect(errorCodec.decode(errorCodec.encode({ code, reason: text }))).toEqual({
            code,
            reason: text,
          });
          expect(u16ListCodec.decode(u16ListCodec.encode(list))).toEqual(list);
        },
      ),
      { numRuns },
    );
  });
});

describe('piggybacked ACK trailer (profile v2)', () => {
  it('data ‖ trailer splits back into the same data and ranges', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 1200 }), ackRangesArb, (data, list) => {
        const ranges = list.length === 0 ? [{ first: 0, count: 1 }] : list;
        const out = new Uint8Array(data.length + ackTrailerSize(ranges.length));
        out.set(data);
        expect(encodeAckTrailer(ranges, out, data.length)).toBe(out.length - data.length);
        const split = decodeAckTrailer(out);
        expect([...split.data]).toEqual([...data]);
        expect(split.ranges).toEqual(ranges);
      }),
      { numRuns },
    );
  });

  it('any payload either splits within its own octets or throws WireError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2048 }), (payload) => {
        let split;
        try {
          split = decodeAckTrailer(payload);
        } catch (error) {
          expect(WireError.is(error)).toBe(true);
          return;
        }
        // the trailer is exactly what follows the data: nothing read beyond, nothing left over
        expect(split.data.length + ackTrailerSize(split.ranges.length)).toBe(payload.length);
        for (const r of split.ranges) expect(r.count).toBeGreaterThan(0);
      }),
      { numRuns },
    );
  });
});

describe('hostile input', () => {
  it('arbitrary bytes never throw anything but WireError', () => {
    fc.assert(
      fc.property(hostileBytesArb, (bytes) => {
        expect(decodeEverything(bytes)).toBeUndefined();
      }),
      { numRuns },
    );
  });

  it('arbitrary text never throws anything but WireError from the hex and JSON front ends', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.json()), (text) => {
        expect(parseEverything(text)).toBeUndefined();
      }),
      { numRuns },
    );
  });
});
