import { readFileSync } from 'node:fs';
import { WireError, fromHex, toHex } from '@xpp/wire';
import { describe, expect, it } from 'vitest';
import { Zone, hashAor, hashKey, normaliseAor, pointCodec, zoneCodec } from '@xpp/can';

// Computed independently (Python hashlib and integer arithmetic), not by this package.
interface Vectors {
  hashes: { key: string; sha256: string; d1: number[]; d4: number[]; d8: number[] }[];
  aors: { input: string; normalised: string; d4: number[] }[];
  points: { d: number; point: number[]; hex: string }[];
  zones: { d: number; path: string; hex: string; low: number[]; span: number[] }[];
  badZones: { d: number; hex: string; code: string }[];
  badPoints: { d: number; hex: string; code: string }[];
}
const vectors = JSON.parse(readFileSync(new URL('./vectors.json', import.meta.url), 'utf8')) as Vectors;

describe('golden vectors', () => {
  it.each(vectors.hashes)('hashes $key: coordinate i is the BE u32 at octets 4i..4i+3', (v) => {
    expect(hashKey(v.key, 1)).toEqual(v.d1);
    expect(hashKey(v.key)).toEqual(v.d4);
    expect(hashKey(new TextEncoder().encode(v.key), 8)).toEqual(v.d8);
    expect(toHex(pointCodec(8).encode(v.d8))).toBe(v.sha256);
  });

  it.each(vectors.aors)('normalises $input', (v) => {
    expect(normaliseAor(v.input)).toBe(v.normalised);
    expect(hashAor(v.input)).toEqual(v.d4);
  });

  it.each(vectors.points)('encodes the point $point (d=$d)', (v) => {
    expect(toHex(pointCodec(v.d).encode(v.point))).toBe(v.hex);
    expect(pointCodec(v.d).decode(fromHex(v.hex))).toEqual(v.point);
  });

  it.each(vectors.zones)('encodes zone $path (d=$d) and bounds it', (v) => {
    const zone = Zone.fromPath(v.d, v.path);
    expect(toHex(zoneCodec(v.d).encode(zone))).toBe(v.hex);
    expect(zoneCodec(v.d).decode(fromHex(v.hex))).toEqual(zone);
    expect(zone.low).toEqual(v.low);
    expect(zone.span).toEqual(v.span);
  });

  it.each([
    ...vectors.badZones.map((v) => ({ ...v, kind: 'zone' })),
    ...vectors.badPoints.map((v) => ({ ...v, kind: 'point' })),
  ])('refuses the $kind $hex (d=$d) with $code', (v) => {
    const codec = v.kind === 'zone' ? zoneCodec(v.d) : pointCodec(v.d);
    let thrown: unknown;
    try {
      codec.decode(fromHex(v.hex));
    } catch (error) {
      thrown = error;
    }
    expect(WireError.is(thrown)).toBe(true);
    expect((thrown as WireError).code).toBe(v.code);
  });
});
