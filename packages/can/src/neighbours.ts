import type { Zone } from './zone.js';

// A local copy: a constant read across modules costs a getter call per read in some transpiled setups (tsx).
const TWO_32 = 0x100000000;

/**
 * The dimension along which `a` and `b` are neighbours — they abut along it on the torus and overlap in every
 * other dimension (spec §2) — or -1 when they are not neighbours. Zones are dyadic boxes, so along one dimension
 * two zones either nest (overlap) or are disjoint; a zone spanning a whole dimension overlaps everything along it
 * and abuts nothing. Two halves of a dimension abut at both ends and are still one neighbour relation.
 */
export function neighbourAxis(a: Zone, b: Zone): number {
  if (a.dimensions !== b.dimensions) return -1;
  let axis = -1;
  const aBox = a.box;
  const bBox = b.box;
  for (let i = 0; i < a.dimensions; i++) {
    const aLow = aBox[2 * i] as number;
    const aSpan = aBox[2 * i + 1] as number;
    const bLow = bBox[2 * i] as number;
    const bSpan = bBox[2 * i + 1] as number;
    // Dyadic intervals overlap exactly when one starts inside the other.
    if ((bLow >= aLow && bLow < aLow + aSpan) || (aLow >= bLow && aLow < bLow + bSpan)) continue;
    const abut = (aLow + aSpan) % TWO_32 === bLow || (bLow + bSpan) % TWO_32 === aLow;
    if (!abut || axis !== -1) return -1;
    axis = i;
  }
  return axis;
}

/** Whether `a` and `b` abut along exactly one dimension on the torus and overlap in all the others. */
export function areNeighbours(a: Zone, b: Zone): boolean {
  return neighbourAxis(a, b) !== -1;
}

/** The zones of `candidates` that are neighbours of `zone`, in their order. */
export function neighboursAmong<T extends Zone>(zone: Zone, candidates: Iterable<T>): T[] {
  const out: T[] = [];
  for (const candidate of candidates) if (neighbourAxis(zone, candidate) !== -1) out.push(candidate);
  return out;
}
