import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_TAKEOVER_MAX_MS,
  DEFAULT_TAKEOVER_UNIT_MS,
  Zone,
  chooseTakeover,
  takeoverDelayMs,
} from '@xpp/can';

const z = (path: string) => Zone.fromPath(2, path);

describe('takeover choice', () => {
  const dead = z('0110');

  it('prefers the sibling held as one zone, whatever the volumes', () => {
    const plan = chooseTakeover(dead, [
      { id: 'big', zones: [z('00')] },
      { id: 'sibling', zones: [z('0111')] },
      { id: 'tiny', zones: [z('010011')] },
    ]);
    expect(plan.taker).toBe('sibling');
    expect(plan.reason).toBe('sibling');
    expect(plan.order.map((t) => t.id)).toEqual(['sibling', 'tiny', 'big']);
    expect(plan.order[0]!.delayMs).toBe(0);
  });

  it('else the smallest volume, ties to the lower id', () => {
    const plan = chooseTakeover(dead, [
      { id: 'b', zones: [z('0100')] },
      { id: 'a', zones: [z('0101')] },
      { id: 'c', zones: [z('00')] },
      // The sibling split further cannot merge: just a small neighbour.
      { id: 'd', zones: [z('01111')] },
    ]);
    expect(plan.reason).toBe('smallest-volume');
    expect(plan.order.map((t) => t.id)).toEqual(['d', 'a', 'b', 'c']);
    expect(plan.order.map((t) => t.delayMs)).toEqual([500, 1000, 1000, 4000]);
  });

  it('counts both zones of a survivor that already holds two', () => {
    const plan = chooseTakeover(dead, [
      { id: 1, zones: [z('0100'), z('1111')] },
      { id: 2, zones: [z('0101')] },
    ]);
    expect(plan.taker).toBe(2);
    expect(plan.order[1]).toMatchObject({
      id: 1,
      volume: 1 / 16 + 1 / 16,
      delayMs: 2 * DEFAULT_TAKEOVER_UNIT_MS,
    });
  });

  it('times each survivor in proportion to its volume, capped, in the order of the choice', () => {
    expect(takeoverDelayMs(dead, [z('01')], { unitMs: 100 })).toBe(400);
    expect(takeoverDelayMs(dead, [z('1')])).toBe(8 * DEFAULT_TAKEOVER_UNIT_MS);
    expect(takeoverDelayMs(dead, [Zone.root(2)])).toBe(DEFAULT_TAKEOVER_MAX_MS);
    expect(takeoverDelayMs(dead, [Zone.root(2)], { maxMs: 50_000 })).toBe(16 * DEFAULT_TAKEOVER_UNIT_MS);
    fc.assert(
      fc.property(
        fc.array(fc.array(fc.constantFrom('0', '1'), { minLength: 1, maxLength: 12 }), {
          minLength: 1,
          maxLength: 8,
        }),
        (paths) => {
          const survivors = paths.map((bits, id) => ({ id, zones: [z(bits.join(''))] }));
          const plan = chooseTakeover(dead, survivors, { maxMs: 1e12 });
          for (let i = 1; i < plan.order.length; i++) {
            expect(plan.order[i]!.delayMs).toBeGreaterThanOrEqual(plan.order[i - 1]!.delayMs);
          }
        },
      ),
    );
  });

  it('needs a survivor and sane options', () => {
    expect(() => chooseTakeover(dead, [])).toThrow(expect.objectContaining({ code: 'NO_SURVIVORS' }));
    expect(() => chooseTakeover(dead, [{ id: 1, zones: [] }])).toThrow(
      expect.objectContaining({ code: 'NO_SURVIVORS' }),
    );
    expect(() => chooseTakeover(dead, [{ id: 1, zones: [Zone.root(3)] }])).toThrow(
      expect.objectContaining({ code: 'DIMENSION_MISMATCH' }),
    );
    expect(() => takeoverDelayMs(dead, [z('1')], { unitMs: -1 })).toThrow(
      expect.objectContaining({ code: 'INVALID_OPTION' }),
    );
  });
});
