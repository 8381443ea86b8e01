import { describe, expect, it } from 'vitest';
import { Zone, nextHop, type NeighbourZone } from '@xpp/can';

const z = (path: string, d = 2) => Zone.fromPath(d, path);
const Q = 2 ** 30;

describe('nextHop', () => {
  it('delivers when the target is in one of my zones', () => {
    const decision = nextHop([Q, Q], [z('11'), z('00')], []);
    expect(decision).toEqual({ kind: 'mine', zone: z('00') });
  });

  it('forwards to the closest neighbour by torus distance', () => {
    // Me: [0, ½) × [0, ½). Target just below 1 in dimension 0: one step the other way round the torus.
    const neighbours: NeighbourZone<string>[] = [
      { id: 'a', zone: z('10') },
      { id: 'b', zone: z('01') },
    ];
    const decision = nextHop([2 ** 32 - 1, Q], z('00'), neighbours);
    expect(decision).toEqual({ kind: 'forward', next: neighbours[0] });
  });

  it('breaks ties by the lower peer id', () => {
    // Target in the diagonal quarter: both neighbours are equally close.
    const target = [3 * Q, 3 * Q];
    const forward = (ids: [string, string]) =>
      nextHop(target, z('00'), [
        { id: ids[0], zone: z('10') },
        { id: ids[1], zone: z('01') },
      ]);
    expect(forward(['m', 'k'])).toMatchObject({ kind: 'forward', next: { id: 'k' } });
    expect(forward(['k', 'm'])).toMatchObject({ kind: 'forward', next: { id: 'k' } });
    const numeric = nextHop(target, z('00'), [
      { id: 10, zone: z('10') },
      { id: 9, zone: z('01') },
    ]);
    expect(numeric).toMatchObject({ next: { id: 9 } });
  });

  it('is a dead end when no neighbour is strictly closer than me', () => {
    expect(nextHop([3 * Q, 3 * Q], z('00'), [])).toEqual({ kind: 'dead-end' });
    // A neighbour no closer than me (a stale table) is not taken: the distance must fall on every hop.
    expect(nextHop([3 * Q, Q], z('00'), [{ id: 1, zone: z('01') }])).toEqual({ kind: 'dead-end' });
  });

  it('refuses mixed spaces and an empty zone list', () => {
    expect(() => nextHop([1, 2, 3], z('0'), [])).toThrow(
      expect.objectContaining({ code: 'DIMENSION_MISMATCH' }),
    );
    expect(() => nextHop([3 * Q, 2], z('0'), [{ id: 1, zone: z('1', 3) }])).toThrow(
      expect.objectContaining({ code: 'DIMENSION_MISMATCH' }),
    );
    expect(() => nextHop([1, 2], [], [])).toThrow(expect.objectContaining({ code: 'INVALID_ZONE' }));
    expect(() => nextHop([1, -2], z('0'), [])).toThrow(expect.objectContaining({ code: 'INVALID_POINT' }));
  });
});
