import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Zone, areNeighbours, neighbourAxis, neighboursAmong } from '@xpp/can';
import { zoneOf } from './arbitraries.js';

const z = (d: number, path: string) => Zone.fromPath(d, path);

/** Independent check on a grid of 2^k cells per dimension: some two cells, one in each zone, share a face. */
function gridNeighbours(a: Zone, b: Zone, k: number): boolean {
  if (a.overlaps(b)) return false;
  const d = a.dimensions;
  const cell = 2 ** (32 - k);
  const cells = (zone: Zone): number[][] => {
    let out: number[][] = [[]];
    for (let i = 0; i < d; i++) {
      const first = zone.low[i]! / cell;
      const count = zone.span[i]! / cell;
      out = out.flatMap((prefix) => Array.from({ length: count }, (_, j) => [...prefix, first + j]));
    }
    return out;
  };
  const inB = new Set(cells(b).map((c) => c.join(',')));
  const size = 2 ** k;
  for (const c of cells(a)) {
    for (let i = 0; i < d; i++) {
      for (const step of [1, -1]) {
        const next = c.slice();
        next[i] = (next[i]! + step + size) % size;
        if (inB.has(next.join(','))) return true;
      }
    }
  }
  return false;
}

describe('neighbours', () => {
  it('in one dimension: halves, and the wrap at 0', () => {
    expect(neighbourAxis(z(1, '0'), z(1, '1'))).toBe(0);
    expect(areNeighbours(z(1, '00'), z(1, '1'))).toBe(true);
    expect(areNeighbours(z(1, '01'), z(1, '1'))).toBe(true);
    expect(areNeighbours(z(1, '00'), z(1, '01'))).toBe(true);
    expect(areNeighbours(z(1, '000'), z(1, '011'))).toBe(false);
    expect(areNeighbours(z(1, '000'), z(1, '111'))).toBe(true);
  });

  it('never with itself, a zone it covers, or the whole space', () => {
    expect(areNeighbours(z(2, '01'), z(2, '01'))).toBe(false);
    expect(areNeighbours(z(2, '0'), z(2, '01'))).toBe(false);
    expect(areNeighbours(Zone.root(1), z(1, '1'))).toBe(false);
    expect(areNeighbours(z(2, '01'), z(3, '11'))).toBe(false);
  });

  it('zones spanning a whole dimension abut along the other', () => {
    expect(neighbourAxis(z(2, '0'), z(2, '1'))).toBe(0);
    expect(neighbourAxis(z(2, '10'), z(2, '0'))).toBe(0);
    expect(neighbourAxis(z(3, '00'), z(3, '01'))).toBe(1);
  });

  it('touching at a corner only is not enough', () => {
    expect(areNeighbours(z(2, '00'), z(2, '11'))).toBe(false);
    expect(areNeighbours(z(2, '0000'), z(2, '0011'))).toBe(false);
    // …and across the wrap of both dimensions at once.
    expect(areNeighbours(z(2, '0000'), z(2, '1111'))).toBe(false);
  });

  it('agrees with a face-sharing check on a grid, and is symmetric', () => {
    const small = fc.constantFrom(1, 2, 3).chain((d) => {
      const k = d === 1 ? 6 : d === 2 ? 4 : 2;
      return fc.tuple(fc.constant(k), zoneOf(d, k * d), zoneOf(d, k * d));
    });
    fc.assert(
      fc.property(small, ([k, a, b]) => {
        expect(areNeighbours(a, b)).toBe(gridNeighbours(a, b, k));
        expect(neighbourAxis(a, b)).toBe(neighbourAxis(b, a));
      }),
      { numRuns: 500 },
    );
  });

  it('picks neighbours out of a list', () => {
    const all = ['00', '01', '10', '11'].map((path) => z(2, path));
    expect(neighboursAmong(z(2, '00'), all).map((zone) => zone.path)).toEqual(['01', '10']);
  });
});
