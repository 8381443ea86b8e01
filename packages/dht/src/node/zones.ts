import type { Point, Zone } from '@xpp/can';

/** The point of a key from the SHA-256 of the key (spec §2): coordinate i is the big-endian u32 at 4i. */
export function pointOfDigest(digest: Uint8Array, dimensions: number): Point {
  const view = new DataView(digest.buffer, digest.byteOffset, digest.byteLength);
  const point = new Array<number>(dimensions);
  for (let i = 0; i < dimensions; i++) point[i] = view.getUint32(4 * i);
  return point;
}

/** The zone of `zones` that contains `point`, if any. */
export function zoneContaining(zones: readonly Zone[], point: Point): Zone | undefined {
  return zones.find((z) => z.contains(point));
}

/** Whether any zone of `a` shares a point with any zone of `b`. */
export function overlapping(a: readonly Zone[], b: readonly Zone[]): boolean {
  return a.some((za) => b.some((zb) => za.overlaps(zb)));
}

/**
 * Merges sibling pairs among `zones` into their parents, repeatedly (CAN background reassignment: a peer holding
 * both halves holds their parent). Returns the zones unchanged when no pair merges.
 */
export function mergeSiblings(zones: readonly Zone[]): Zone[] {
  const out = [...zones];
  for (let merged = true; merged;) {
    merged = false;
    for (let i = 0; i < out.length && !merged; i++) {
      for (let j = i + 1; j < out.length && !merged; j++) {
        const a = out[i] as Zone;
        const b = out[j] as Zone;
        if (!a.isSiblingOf(b)) continue;
        out.splice(j, 1);
        out[i] = a.mergeWith(b);
        merged = true;
      }
    }
  }
  return out;
}
