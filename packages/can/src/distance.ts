import { CanError } from './errors.js';
import { checkPoint, type Point } from './space.js';
import type { Zone } from './zone.js';

const TWO_16 = 0x10000;
// A local copy: a constant read across modules costs a getter call per read in some transpiled setups (tsx).
const TWO_32 = 0x100000000;

/**
 * A squared Euclidean distance, exact: `hi · 2^32 + lo` with `lo` in [0, 2^32). A double alone cannot hold it
 * (up to 8 · 2^62), and a rounded distance could make two different candidates tie or a hop not get strictly
 * closer, which is what keeps greedy routing from looping.
 */
export interface SquaredDistance {
  hi: number;
  lo: number;
}

/**
 * Torus distance along one dimension from coordinate `p` to the coordinates `low … low + span − 1`: zero inside,
 * else the shorter way round — down to the zone's last coordinate or up (wrapping past 2^32) to its first.
 */
export function axisDistance(p: number, low: number, span: number): number {
  // Plain double arithmetic: `>>> 0` on values beyond int32 takes a slow conversion path in V8.
  let offset = p - low;
  if (offset < 0) offset += TWO_32;
  if (offset < span) return 0;
  const down = offset - span + 1;
  const up = TWO_32 - offset;
  return down < up ? down : up;
}

/**
 * Writes the exact squared torus distance from `point` to `zone` into `out`, and returns true — or returns false
 * as soon as the distance is known to exceed `beyondHi · 2^32 + (2^32 − 1)` (then `out` is unspecified). No checks,
 * no allocation: this is the inner loop of routing.
 */
export function squaredDistanceInto(
  point: ArrayLike<number>,
  zone: Zone,
  out: SquaredDistance,
  beyondHi = Infinity,
): boolean {
  const box = zone.box;
  // Each axis distance x ≤ 2^31 splits as a·2^16 + b, so x² = a²·2^32 + (2ab·2^16 + b²); both sums stay exact
  // (at most 2^33 and 2^52 for 8 dimensions). Once the first alone passes beyondHi, the total must too.
  let hi = 0;
  let rest = 0;
  for (let i = 0, k = 0; k < box.length; i++, k += 2) {
    const x = axisDistance(point[i] as number, box[k] as number, box[k + 1] as number);
    if (x === 0) continue;
    const a = Math.floor(x / TWO_16);
    const b = x - a * TWO_16;
    hi += a * a;
    if (hi > beyondHi) return false;
    rest += 2 * a * b * TWO_16 + b * b;
  }
  const carry = Math.floor(rest / TWO_32);
  out.hi = hi + carry;
  out.lo = rest - carry * TWO_32;
  return true;
}

/** Negative, zero or positive as `a` is shorter than, equal to or longer than `b`. */
export function compareSquared(a: SquaredDistance, b: SquaredDistance): number {
  return a.hi !== b.hi ? a.hi - b.hi : a.lo - b.lo;
}

/** The exact squared torus distance from `point` to `zone`, in squared coordinate units, as a bigint. */
export function squaredDistance(point: Point, zone: Zone): bigint {
  checkSameSpace(point, zone);
  const out = { hi: 0, lo: 0 };
  squaredDistanceInto(point, zone, out);
  return (BigInt(out.hi) << 32n) + BigInt(out.lo);
}

/**
 * The torus distance from `point` to the nearest point of `zone`, as a fraction of a dimension's length
 * (0 inside the zone, at most √d / 2). Rounded: for display and statistics; decisions use the exact form.
 */
export function torusDistance(point: Point, zone: Zone): number {
  checkSameSpace(point, zone);
  let sum = 0;
  for (let i = 0; i < zone.dimensions; i++) {
    const x = axisDistance(point[i] as number, zone.box[2 * i] as number, zone.box[2 * i + 1] as number);
    sum += (x / TWO_32) ** 2;
  }
  return Math.sqrt(sum);
}

/** Throws unless `point` is a valid point of `zone`'s space. */
export function checkSameSpace(point: Point, zone: Zone): void {
  if (Array.isArray(point) && point.length !== zone.dimensions) {
    throw new CanError(
      'DIMENSION_MISMATCH',
      `a ${point.length}-coordinate point and a ${zone.dimensions}-dimensional zone`,
    );
  }
  checkPoint(point, zone.dimensions);
}
