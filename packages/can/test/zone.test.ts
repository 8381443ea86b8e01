import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CanError, Zone, maxZoneDepth } from '@xpp/can';
import { dimensions, pointOf, zoneOf } from './arbitraries.js';

const TWO_32 = 2 ** 32;

describe('Zone', () => {
  it('starts as the whole space', () => {
    const root = Zone.root();
    expect(root.dimensions).toBe(4);
    expect(root.depth).toBe(0);
    expect(root.volume).toBe(1);
    expect(root.low).toEqual([0, 0, 0, 0]);
    expect(root.span).toEqual([TWO_32, TWO_32, TWO_32, TWO_32]);
    expect(root.contains([0, 0xffffffff, 7, 0x80000000])).toBe(true);
  });

  it('splits along dimension depth % d, the newcomer taking the upper half', () => {
    const [lower, upper] = Zone.root(2).split();
    expect(lower.path).toBe('0');
    expect(upper.path).toBe('1');
    expect(upper.low).toEqual([2 ** 31, 0]);
    expect(upper.span).toEqual([2 ** 31, TWO_32]);
    const [, upperUpper] = upper.split();
    expect(upperUpper.low).toEqual([2 ** 31, 2 ** 31]);
    expect(upperUpper.splitDimension).toBe(0);
    expect(upperUpper.lastSplitDimension).toBe(1);
  });

  it('stops splitting at 32 halvings per coordinate, and at depth 255 for d = 8', () => {
    expect(maxZoneDepth(1)).toBe(32);
    expect(maxZoneDepth(4)).toBe(128);
    expect(maxZoneDepth(8)).toBe(255);
    const deepest = Zone.fromPath(1, '1'.repeat(32));
    expect(deepest.span).toEqual([1]);
    expect(deepest.low).toEqual([0xffffffff]);
    expect(deepest.canSplit).toBe(false);
    expect(() => deepest.split()).toThrow(expect.objectContaining({ code: 'ZONE_TOO_DEEP' }));
    expect(Zone.fromPath(8, '0'.repeat(255)).canSplit).toBe(false);
    expect(() => Zone.fromPath(1, '0'.repeat(33))).toThrow(expect.objectContaining({ code: 'INVALID_ZONE' }));
  });

  it('rejects bad dimensions and paths with CanError', () => {
    for (const d of [0, 9, 1.5, NaN]) {
      expect(() => Zone.root(d)).toThrow(expect.objectContaining({ code: 'INVALID_DIMENSIONS' }));
    }
    let thrown: unknown;
    try {
      Zone.fromPath(4, '012');
    } catch (error) {
      thrown = error;
    }
    expect(CanError.is(thrown)).toBe(true);
    expect(CanError.is(new Error('x'))).toBe(false);
    expect(() => Zone.fromBits(4, 9, new Uint8Array(1))).toThrow(
      expect.objectContaining({ code: 'INVALID_ZONE' }),
    );
  });

  it('has no parent or sibling at the root, and merges only siblings', () => {
    const root = Zone.root(3);
    expect(() => root.parent()).toThrow(expect.objectContaining({ code: 'NOT_SIBLINGS' }));
    expect(() => root.sibling()).toThrow(expect.objectContaining({ code: 'NOT_SIBLINGS' }));
    const a = Zone.fromPath(3, '0110');
    expect(() => a.mergeWith(Zone.fromPath(3, '0100'))).toThrow(
      expect.objectContaining({ code: 'NOT_SIBLINGS' }),
    );
    expect(() => a.mergeWith(a)).toThrow(expect.objectContaining({ code: 'NOT_SIBLINGS' }));
    expect(a.mergeWith(Zone.fromPath(3, '0111')).path).toBe('011');
  });

  it('split, sibling, parent and merge agree with building from the path', () => {
    fc.assert(
      fc.property(
        dimensions.chain((d) => zoneOf(d, maxZoneDepth(d) - 1)),
        (zone) => {
          const [lower, upper] = zone.split();
          expect(lower.isSiblingOf(upper)).toBe(true);
          expect(lower.sibling().equals(upper)).toBe(true);
          expect(upper.sibling()).toEqual(lower);
          expect(lower.parent()).toEqual(zone);
          expect(upper.parent()).toEqual(zone);
          expect(upper.mergeWith(lower)).toEqual(zone);
          expect(Zone.fromPath(zone.dimensions, upper.path)).toEqual(upper);
          expect(lower.volume + upper.volume).toBe(zone.volume);
          expect(zone.covers(upper) && !upper.covers(zone) && upper.overlaps(zone)).toBe(true);
          expect(lower.overlaps(upper)).toBe(false);
          expect(Zone.fromBits(zone.dimensions, zone.depth, zone.toBits())).toEqual(zone);
        },
      ),
    );
  });

  it('contains a point exactly when one of its halves does, and its center', () => {
    fc.assert(
      fc.property(
        dimensions.chain((d) => fc.tuple(zoneOf(d, maxZoneDepth(d) - 1), pointOf(d))),
        ([zone, point]) => {
          const [lower, upper] = zone.split();
          expect(zone.contains(point)).toBe(lower.contains(point) || upper.contains(point));
          expect(lower.contains(point) && upper.contains(point)).toBe(false);
          expect(zone.contains(zone.center())).toBe(true);
        },
      ),
    );
  });

  it('rejects points of the wrong shape', () => {
    const zone = Zone.root(2);
    for (const bad of [[1], [1, 2, 3], [1, -1], [1, 2 ** 32], [1, 0.5], [1, NaN]]) {
      expect(() => zone.contains(bad)).toThrow(expect.objectContaining({ code: 'INVALID_POINT' }));
    }
  });
});
