import { checkSameSpace, compareSquared, squaredDistanceInto, type SquaredDistance } from './distance.js';
import { CanError } from './errors.js';
import type { Point } from './space.js';
import type { Zone } from './zone.js';

/** How a peer is named to the geometry: only compared, lower wins ties (numbers by value, strings by code unit). */
export type PeerId = string | number;

/** One zone of one neighbour (a neighbour holding two zones during a takeover appears twice). */
export interface NeighbourZone<Id extends PeerId = PeerId> {
  readonly id: Id;
  readonly zone: Zone;
}

/** What a peer does with a message for a target point. */
export type RouteDecision<Id extends PeerId = PeerId> =
  /** The target lies in `zone`, one of mine: deliver here. */
  | { readonly kind: 'mine'; readonly zone: Zone }
  /** Forward to this neighbour: its zone is the closest to the target, and strictly closer than mine. */
  | { readonly kind: 'forward'; readonly next: NeighbourZone<Id> }
  /**
   * No neighbour is closer to the target than my own zone. Never happens while the neighbour table covers the
   * zone's whole boundary (a hop can always get one coordinate closer); it means the table has a hole, e.g. a
   * dead neighbour whose zone nobody has taken over yet.
   */
  | { readonly kind: 'dead-end' };

const scratchBest: SquaredDistance = { hi: 0, lo: 0 };
const scratchCandidate: SquaredDistance = { hi: 0, lo: 0 };
const scratchMine: SquaredDistance = { hi: 0, lo: 0 };
const scratchPoint = new Float64Array(8);

/**
 * Greedy CAN routing (spec §2): deliver when the target is in one of `mine`, else forward to the neighbour whose
 * zone is closest to the target by exact torus distance, ties to the lower peer id. Only a strictly closer
 * neighbour is chosen, so the distance falls on every hop and a route can never loop, even on stale tables.
 */
export function nextHop<Id extends PeerId>(
  target: Point,
  mine: Zone | readonly Zone[],
  neighbours: readonly NeighbourZone<Id>[],
): RouteDecision<Id> {
  const own: readonly Zone[] = Array.isArray(mine) ? mine : [mine as Zone];
  const first = own[0];
  if (first === undefined) throw new CanError('INVALID_ZONE', 'a routing peer owns at least one zone');
  checkSameSpace(target, first);
  const d = first.dimensions;
  // One copy into a typed array keeps the distance loop monomorphic whatever array the caller passed.
  const point = scratchPoint;
  for (let i = 0; i < d; i++) point[i] = target[i] as number;

  scratchMine.hi = Infinity;
  for (const zone of own) {
    if (zone.dimensions !== d) throw mismatch(zone, d);
    squaredDistanceInto(point, zone, scratchCandidate);
    if (scratchCandidate.hi === 0 && scratchCandidate.lo === 0) return { kind: 'mine', zone };
    if (compareSquared(scratchCandidate, scratchMine) < 0) {
      scratchMine.hi = scratchCandidate.hi;
      scratchMine.lo = scratchCandidate.lo;
    }
  }

  // Only neighbours strictly closer than my own zone can be chosen: start the bound there.
  let best: NeighbourZone<Id> | undefined;
  scratchBest.hi = scratchMine.hi;
  scratchBest.lo = scratchMine.lo;
  for (const neighbour of neighbours) {
    if (neighbour.zone.dimensions !== d) throw mismatch(neighbour.zone, d);
    if (!squaredDistanceInto(point, neighbour.zone, scratchCandidate, scratchBest.hi)) continue;
    const order = compareSquared(scratchCandidate, scratchBest);
    if (order < 0 || (order === 0 && best !== undefined && neighbour.id < best.id)) {
      best = neighbour;
      scratchBest.hi = scratchCandidate.hi;
      scratchBest.lo = scratchCandidate.lo;
    }
  }
  return best === undefined ? { kind: 'dead-end' } : { kind: 'forward', next: best };
}

function mismatch(zone: Zone, d: number): CanError {
  return new CanError(
    'DIMENSION_MISMATCH',
    `a ${zone.dimensions}-dimensional zone in a ${d}-dimensional space`,
  );
}
