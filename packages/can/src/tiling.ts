import type { Zone } from './zone.js';

/** Whether a set of zones covers the space exactly once: volumes add up to 1 and no two zones overlap. */
export interface TilingReport {
  readonly ok: boolean;
  readonly zones: number;
  /** Pairs of zones where one covers the other (checked between neighbours in split-path order). */
  readonly overlaps: number;
  /** The exact sum of the zones' volumes, as numerator / 2^denominatorLog2. */
  readonly volume: { readonly numerator: bigint; readonly denominatorLog2: number };
}

/**
 * Checks that `zones` tile the space: every point has exactly one owner. Zones are dyadic, so two overlap only
 * when one's split path is a prefix of the other's, and after sorting the paths any such prefix sits right before
 * a path it prefixes; with no overlap, a volume sum of exactly 1 leaves no gap. O(n log n), exact.
 */
export function checkTiling(zones: readonly Zone[]): TilingReport {
  let deepest = 0;
  for (const zone of zones) if (zone.depth > deepest) deepest = zone.depth;
  let numerator = 0n;
  for (const zone of zones) numerator += 1n << BigInt(deepest - zone.depth);
  const paths = zones.map((zone) => zone.path).sort();
  let overlaps = 0;
  for (let i = 1; i < paths.length; i++) {
    if ((paths[i] as string).startsWith(paths[i - 1] as string)) overlaps++;
  }
  const dimensions = new Set(zones.map((zone) => zone.dimensions));
  return {
    ok: overlaps === 0 && dimensions.size === 1 && numerator === 1n << BigInt(deepest),
    zones: zones.length,
    overlaps,
    volume: { numerator, denominatorLog2: deepest },
  };
}
