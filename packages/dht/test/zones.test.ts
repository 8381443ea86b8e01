import { Zone } from '@xpp/can';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { mergeSiblings, resolveOverlap, zoneMinus } from '../src/node/zones.js';

const D = 4;
const path = (min: number, max: number) =>
  fc.array(fc.constantFrom('0', '1'), { minLength: min, maxLength: max }).map((bits) => bits.join(''));
const volume = (zones: readonly Zone[]) => zones.reduce((sum, z) => sum + z.volume, 0);
const disjoint = (a: readonly Zone[], b: readonly Zone[]) => a.every((x) => b.every((y) => !x.overlaps(y)));

/** A and B repair a double ownership, A first: each applies the rule to what the other holds at that moment. */
function repair(a: readonly Zone[], b: readonly Zone[], first: 'a' | 'b') {
  if (first === 'a') {
    const a1 = resolveOverlap('aa', a, 'bb', b);
    return { a: a1, b: resolveOverlap('bb', b, 'aa', a1) };
  }
  const b1 = resolveOverlap('bb', b, 'aa', a);
  return { a: resolveOverlap('aa', a, 'bb', b1), b: b1 };
}

describe('zone arithmetic of double-ownership repair', () => {
  it('zoneMinus leaves exactly the rest of the outer zone', () => {
    fc.assert(
      fc.property(path(0, 6), path(1, 8), (outer, below) => {
        const o = Zone.fromPath(D, outer);
        const i = Zone.fromPath(D, outer + below);
        const rest = zoneMinus(o, i);
        expect(rest).toHaveLength(below.length);
        expect(disjoint(rest, [i])).toBe(true);
        expect(volume(rest) + i.volume).toBeCloseTo(o.volume, 12);
        expect(mergeSiblings([...rest, i]).map((z) => z.path)).toEqual([o.path]);
      }),
    );
  });

  it('two peers holding overlapping zones end up disjoint and covering the same space, in either order', () => {
    fc.assert(
      fc.property(
        path(0, 8),
        path(0, 6),
        fc.boolean(),
        fc.constantFrom<'a' | 'b'>('a', 'b'),
        (common, below, nestedInA, first) => {
          const outer = Zone.fromPath(D, common);
          const inner = Zone.fromPath(D, common + below);
          const a = nestedInA ? [inner] : [outer];
          const b = nestedInA ? [outer] : [inner];
          const out = repair(a, b, first);
          expect(disjoint(out.a, out.b)).toBe(true);
          expect(volume(out.a) + volume(out.b)).toBeCloseTo(outer.volume, 12);
          // Both keep something, and repairing again changes nothing.
          expect(out.a.length).toBeGreaterThan(0);
          expect(out.b.length).toBeGreaterThan(0);
          expect(resolveOverlap('aa', out.a, 'bb', out.b)).toEqual(out.a);
          expect(resolveOverlap('bb', out.b, 'aa', out.a)).toEqual(out.b);
        },
      ),
    );
  });

  it('keeps zones that do not overlap the other peer and splits an equal zone by id', () => {
    const [lower, upper] = Zone.fromPath(D, '01').split();
    const other = Zone.fromPath(D, '1');
    expect(resolveOverlap('aa', [Zone.fromPath(D, '01'), other], 'bb', [Zone.fromPath(D, '01')])).toEqual([
      lower,
      other,
    ]);
    expect(resolveOverlap('bb', [Zone.fromPath(D, '01')], 'aa', [Zone.fromPath(D, '01')])).toEqual([upper]);
  });
});
