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

/** `outer` without `inner` (which it covers): the siblings along the path from `inner` up to `outer`. */
export function zoneMinus(outer: Zone, inner: Zone): Zone[] {
  const rest: Zone[] = [];
  for (let z = inner; z.depth > outer.depth; z = z.parent()) rest.push(z.sibling());
  return rest;
}

/**
 * The zones peer `me` keeps when peer `other` claims `theirs`, which overlap some of `mine` (double ownership after
 * a takeover race; docs/decisions/dht-double-ownership.md). The lower id keeps everything it holds; the higher id
 * gives up exactly what the lower one claims, keeping the rest of each zone (the siblings along the path). Only the
 * ids decide who yields, never the zones' sizes: a peer's zones may be announced merged or not, and a peer may
 * apply the rule to an announcement older than the other's current zones, so a rule that compared zones could
 * have both peers yield the same part and leave it without an owner. The lower id never yields a point it holds,
 * so no point is left ownerless; applying the rule again to the outcome changes nothing. The higher id may be left
 * with nothing (it then leaves the overlay). Zones that do not overlap are kept.
 */
export function resolveOverlap(
  me: string,
  mine: readonly Zone[],
  other: string,
  theirs: readonly Zone[],
): Zone[] {
  return me < other ? [...mine] : subtractZones(mine, theirs);
}

/**
 * The parts of `zones` that no zone of `minus` shares a point with, as zones: each zone of `zones` less the zones of
 * `minus` inside it (the siblings along the path down to each), or nothing when one of `minus` covers it.
 */
export function subtractZones(zones: readonly Zone[], minus: readonly Zone[]): Zone[] {
  let kept = [...zones];
  for (const t of minus) {
    const next: Zone[] = [];
    for (const m of kept) {
      if (!m.overlaps(t)) next.push(m);
      else if (m.covers(t) && !m.equals(t)) next.push(...zoneMinus(m, t));
      // Otherwise t covers m: none of m is left.
    }
    kept = next;
  }
  return kept;
}
