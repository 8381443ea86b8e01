import { CanError } from './errors.js';

/** Dimensions of the key space when an overlay does not say (spec §2). */
export const DEFAULT_DIMENSIONS = 4;
/** Fewest dimensions an overlay may use. */
export const MIN_DIMENSIONS = 1;
/** Most dimensions an overlay may use: a SHA-256 digest holds 8 u32 coordinates. */
export const MAX_DIMENSIONS = 8;
/** Coordinates are u32: the fraction x / 2^32 of the unit torus. */
export const COORDINATE_RANGE = 2 ** 32;
/** The wire carries a zone's depth in one octet. */
export const MAX_ZONE_DEPTH = 255;

/**
 * A point of the key space: d coordinates, each a u32 read as the fraction x / 2^32 of the unit torus.
 * Plain numbers rather than a typed array so that points survive JSON and structured cloning unchanged.
 */
export type Point = readonly number[];

/** Throws `INVALID_DIMENSIONS` unless `d` is an integer in 1–8. */
export function checkDimensions(d: number): void {
  if (!Number.isInteger(d) || d < MIN_DIMENSIONS || d > MAX_DIMENSIONS) {
    throw new CanError(
      'INVALID_DIMENSIONS',
      `dimensions must be an integer in ${MIN_DIMENSIONS}..${MAX_DIMENSIONS}, got ${String(d)}`,
    );
  }
}

/**
 * How deep a zone of a d-dimensional space can go: each coordinate can be halved 32 times, and the depth must
 * fit its octet on the wire (so 255 rather than 256 for d = 8).
 */
export function maxZoneDepth(d: number): number {
  checkDimensions(d);
  return Math.min(MAX_ZONE_DEPTH, 32 * d);
}

/** True when `value` is a u32. */
export function isCoordinate(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 && value < COORDINATE_RANGE;
}

/** Throws `INVALID_POINT` unless `point` has `d` u32 coordinates. */
export function checkPoint(point: Point, d: number): void {
  if (!Array.isArray(point) || point.length !== d) {
    throw new CanError(
      'INVALID_POINT',
      `a point of a ${d}-dimensional space has ${d} coordinates, got ${Array.isArray(point) ? point.length : typeof point}`,
    );
  }
  for (let i = 0; i < d; i++) {
    if (!isCoordinate(point[i])) {
      throw new CanError('INVALID_POINT', `coordinate ${i} must be a u32, got ${String(point[i])}`);
    }
  }
}
