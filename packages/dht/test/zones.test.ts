import { Zone } from '@xpp/can';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { mergeSiblings, resolveOverlap, subtractZones, zoneMinus } from '../src/node/zones.js';

const D = 4;
const path = (min: number, max: number) =>
  fc.array(fc.constantFrom('0', '1'), { minLength: min, maxLength: max }).map((bits) => bits.join(''));
const volume = (zones: readonly Zone[]) => zones.reduce((sum, z) => sum + z.volume, 0);
const disjoint = (a: readonly Zone[], b: readonly Zone[]) => a.every((x) => b.every((y) => !x.overlaps(y)));

/** `zone` as its holder may announce it: whole, or as the two halves it was merged from (a merge in flight). */
function announced(zone: Zone, split: boolean): Zone[] {
  return split && zone.canSplit ? [...zone.split()] : [zone];
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

  it('the lower id keeps all it holds; the higher gives up exactly that, whichever form of it it saw', () => {
    fc.assert(
      fc.property(
        path(0, 8),
        path(0, 6),
        fc.boolean(),
        fc.boolean(),
        fc.boolean(),
        (common, below, lowerHoldsOuter, seenSplit, higherHasMore) => {
          const outer = Zone.fromPath(D, common);
          const inner = Zone.fromPath(D, common + below);
          const lower = lowerHoldsOuter ? [outer] : [inner];
          const elsewhere = outer.depth > 0 ? outer.sibling() : undefined;
          const higher = [
            lowerHoldsOuter ? inner : outer,
            ...(higherHasMore && elsewhere !== undefined ? [elsewhere] : []),
          ];
          // The higher id may have seen the lower's zones merged or as halves: the outcome is the same space.
          const kept = resolveOverlap('bb', higher, 'aa', announced(lower[0] as Zone, seenSplit));
          const again = resolveOverlap('bb', higher, 'aa', announced(lower[0] as Zone, !seenSplit));
          expect(volume(kept)).toBeCloseTo(volume(again), 12);
          expect(
            disjoint(
              kept,
              again.filter((z) => !kept.some((k) => k.equals(z))),
            ),
          ).toBe(true);
          // The lower id keeps everything, whatever it saw; the two end disjoint and cover what they held.
          expect(resolveOverlap('aa', lower, 'bb', higher)).toEqual(lower);
          expect(disjoint(kept, lower)).toBe(true);
          const union = volume([outer, ...higher.filter((z) => !outer.overlaps(z))]);
          expect(volume(kept) + volume(lower)).toBeCloseTo(union, 12);
          // Repairing again changes nothing.
          expect(resolveOverlap('bb', kept, 'aa', lower)).toEqual(kept);
        },
      ),
    );
  });

  it('keeps zones that do not overlap, and leaves the higher id nothing when all it holds is claimed', () => {
    const claimed = Zone.fromPath(D, '01');
    const other = Zone.fromPath(D, '1');
    expect(resolveOverlap('aa', [claimed, other], 'bb', [claimed])).toEqual([claimed, other]);
    expect(resolveOverlap('bb', [claimed, other], 'aa', [claimed])).toEqual([other]);
    expect(resolveOverlap('bb', [claimed], 'aa', [Zone.fromPath(D, '0')])).toEqual([]);
    expect(resolveOverlap('bb', [Zone.fromPath(D, '0')], 'aa', [claimed])).toEqual([Zone.fromPath(D, '00')]);
  });
});

describe('subtractZones: the unowned parts of a dead zone a survivor may take', () => {
  it('leaves exactly the points of the zone that no subtracted zone holds', () => {
    fc.assert(
      fc.property(path(0, 5), fc.array(path(0, 9), { maxLength: 6 }), (zonePath, minusPaths) => {
        const zone = Zone.fromPath(D, zonePath);
        const minus = minusPaths.map((p) => Zone.fromPath(D, p));
        const rest = subtractZones([zone], minus);
        // Inside the zone, disjoint from what is subtracted and from each other.
        expect(rest.every((r) => zone.covers(r))).toBe(true);
        expect(disjoint(rest, minus)).toBe(true);
        rest.forEach((r, i) => expect(disjoint([r], rest.slice(i + 1))).toBe(true));
        // And nothing more is taken away: rest and the parts of minus inside the zone fill the zone. Zones of a
        // split tree nest or are disjoint, so the outermost of those parts are disjoint.
        const parts = minus
          .filter((m) => zone.overlaps(m))
          .map((m) => (zone.covers(m) ? m : zone))
          .sort((a, b) => a.depth - b.depth);
        const outermost = parts.filter((m, i) => !parts.slice(0, i).some((o) => o.covers(m)));
        expect(volume(rest) + volume(outermost)).toBeCloseTo(zone.volume, 12);
      }),
    );
  });

  it('takes nothing away from a zone no subtracted zone overlaps, all from one a subtracted zone covers', () => {
    const zone = Zone.fromPath(D, '0110');
    expect(subtractZones([zone], [Zone.fromPath(D, '1')])).toEqual([zone]);
    expect(subtractZones([zone], [Zone.fromPath(D, '01')])).toEqual([]);
    expect(subtractZones([zone], [Zone.fromPath(D, '01101')]).map((z) => z.path)).toEqual(['01100']);
  });
});
