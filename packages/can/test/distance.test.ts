import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Zone, axisDistance, squaredDistance, torusDistance } from '@xpp/can';
import { edgyCoordinate, zoneAndPoint } from './arbitraries.js';

const M = 2 ** 32;
const ring = (a: number, b: number): number => Math.min((((a - b) % M) + M) % M, (((b - a) % M) + M) % M);

describe('torus distance', () => {
  it('wraps on both sides of a zone', () => {
    // A zone at the top of the range: 0 is one step past its end.
    expect(axisDistance(0, 0xffff0000, 0x10000)).toBe(1);
    // A zone at the bottom: 0xffffffff is one step below its start.
    expect(axisDistance(0xffffffff, 0, 16)).toBe(1);
    expect(axisDistance(0x80000000, 0, 16)).toBe(0x80000000 - 15);
    expect(axisDistance(5, 0, 16)).toBe(0);
    expect(axisDistance(123, 0, M)).toBe(0);
    // Halfway round either way: the shorter way wins.
    expect(axisDistance(0x40000000, 0x80000000, 0x80000000)).toBe(0x40000000);
    expect(axisDistance(0x3fffffff, 0x80000000, 0x80000000)).toBe(0x40000000);
  });

  it('is the ring distance to the nearer end of the zone', () => {
    fc.assert(
      fc.property(edgyCoordinate, fc.integer({ min: 0, max: 32 }), edgyCoordinate, (p, log2, start) => {
        const span = 2 ** log2;
        const low = span === M ? 0 : start - (start % span);
        const inside = p >= low && p < low + span;
        const expected = inside ? 0 : Math.min(ring(p, low), ring(p, low + span - 1));
        expect(axisDistance(p, low, span)).toBe(expected);
      }),
    );
  });

  it('squares exactly, beyond what a double holds', () => {
    fc.assert(
      fc.property(zoneAndPoint, ([zone, point]) => {
        let expected = 0n;
        for (let i = 0; i < zone.dimensions; i++) {
          expected += BigInt(axisDistance(point[i]!, zone.low[i]!, zone.span[i]!)) ** 2n;
        }
        expect(squaredDistance(point, zone)).toBe(expected);
        expect(squaredDistance(point, zone) === 0n).toBe(zone.contains(point));
        expect(torusDistance(point, zone)).toBeLessThanOrEqual(Math.sqrt(zone.dimensions) / 2 + 1e-9);
      }),
    );
    const far = Zone.fromPath(8, '0'.repeat(8));
    expect(squaredDistance(new Array(8).fill(0xc0000000), far)).toBe(8n * BigInt(0x40000000 - 0) ** 2n);
  });

  it('refuses a point of another space', () => {
    expect(() => squaredDistance([1, 2], Zone.root(3))).toThrow(
      expect.objectContaining({ code: 'DIMENSION_MISMATCH' }),
    );
  });
});
