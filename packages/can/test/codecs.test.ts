import { WireError } from '@xpp/wire';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Zone, pointCodec, zoneCodec } from '@xpp/can';
import { dimensions, pointOf, zoneOf } from './arbitraries.js';

/** Decoding untrusted octets either yields a value or throws a WireError — nothing else. */
function decodesOrRefuses<T>(decode: () => T): T | undefined {
  try {
    return decode();
  } catch (error) {
    if (!WireError.is(error)) throw error;
    return undefined;
  }
}

describe('point and zone codecs', () => {
  it('round-trip every point and zone, canonically', () => {
    fc.assert(
      fc.property(
        dimensions.chain((d) => fc.tuple(fc.constant(d), pointOf(d), zoneOf(d))),
        ([d, point, zone]) => {
          const pointBytes = pointCodec(d).encode(point);
          expect(pointBytes.length).toBe(4 * d);
          expect(pointCodec(d).decode(pointBytes)).toEqual(point);
          const zoneBytes = zoneCodec(d).encode(zone);
          expect(zoneBytes.length).toBe(1 + Math.ceil(zone.depth / 8));
          expect(zoneCodec(d).decode(zoneBytes)).toEqual(zone);
        },
      ),
    );
  });

  it('take any octets without harm: a value that re-encodes to the same octets, or a WireError', () => {
    fc.assert(
      fc.property(dimensions, fc.uint8Array({ maxLength: 80 }), (d, bytes) => {
        const zone = decodesOrRefuses(() => zoneCodec(d).decode(bytes));
        if (zone !== undefined) expect(zoneCodec(d).encode(zone)).toEqual(bytes);
        const point = decodesOrRefuses(() => pointCodec(d).decode(bytes));
        if (point !== undefined) expect(pointCodec(d).encode(point)).toEqual(bytes);
        expect(point === undefined).toBe(bytes.length !== 4 * d);
      }),
      { numRuns: 2000 },
    );
  });

  it('decode from a view into a larger buffer', () => {
    const buffer = new Uint8Array([0xee, 0x00, 0x00, 0x00, 0x01, 0x80, 0x00, 0x00, 0x00, 0xee]);
    expect(pointCodec(2).decode(buffer.subarray(1, 9))).toEqual([1, 0x80000000]);
    expect(zoneCodec(2).decode(buffer.subarray(4, 6))).toEqual(Zone.fromPath(2, '1'));
  });

  it('refuse to encode what does not fit, with WireError INVALID_FIELD', () => {
    const refuses = (encode: () => unknown) =>
      expect(encode).toThrow(expect.objectContaining({ name: 'WireError', code: 'INVALID_FIELD' }));
    refuses(() => pointCodec(2).encode([1, 2, 3]));
    refuses(() => pointCodec(2).encode([1, 2 ** 32]));
    refuses(() => zoneCodec(2).encode(Zone.fromPath(3, '1')));
    refuses(() => zoneCodec(2).encode({ depth: 1 } as unknown as Zone));
    expect(() => pointCodec(9)).toThrow(expect.objectContaining({ code: 'INVALID_DIMENSIONS' }));
  });
});
