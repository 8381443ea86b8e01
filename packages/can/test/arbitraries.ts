import fc from 'fast-check';
import { Zone, maxZoneDepth, type Point } from '@xpp/can';

export const dimensions = fc.integer({ min: 1, max: 8 });
export const coordinate = fc.integer({ min: 0, max: 0xffffffff });
/** Coordinates near the ends of the range, where wrap-around bugs live, as often as anywhere else. */
export const edgyCoordinate = fc.oneof(
  coordinate,
  fc.integer({ min: 0, max: 16 }),
  fc.integer({ min: 0xffffffff - 16, max: 0xffffffff }),
  fc.constantFrom(0x7fffffff, 0x80000000, 0x80000001),
);

export const pointOf = (d: number): fc.Arbitrary<Point> =>
  fc.array(edgyCoordinate, { minLength: d, maxLength: d });

export const zoneOf = (d: number, maxDepth = maxZoneDepth(d)): fc.Arbitrary<Zone> =>
  fc
    .array(fc.constantFrom('0', '1'), { maxLength: Math.min(maxDepth, maxZoneDepth(d)) })
    .map((bits) => Zone.fromPath(d, bits.join('')));

/** A d, then a zone and a point of that space. */
export const zoneAndPoint = dimensions.chain((d) => fc.tuple(zoneOf(d), pointOf(d)));

/** Random joins (by rule) and kills, as indices the test maps onto live peers. */
export const churn = fc.array(
  fc.oneof(
    {
      weight: 3,
      arbitrary: fc.constantFrom('balanced', 'split', 'uniform').map((rule) => ({ join: rule }) as const),
    },
    { weight: 1, arbitrary: fc.nat().map((pick) => ({ kill: pick }) as const) },
  ),
  { minLength: 1, maxLength: 60 },
);
