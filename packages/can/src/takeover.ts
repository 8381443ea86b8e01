import { CanError } from './errors.js';
import type { PeerId } from './routing.js';
import type { Zone } from './zone.js';

/** Takeover delay of a survivor whose zones add up to the dead zone's volume (spec §3: delay ∝ volume). */
export const DEFAULT_TAKEOVER_UNIT_MS = 1_000;
/** The longest takeover delay, however large a survivor's zones are compared with the dead one. */
export const DEFAULT_TAKEOVER_MAX_MS = 10_000;

export interface TakeoverOptions {
  /** Delay for a survivor as large as the dead zone; others scale with their volume. Default 1 000 ms. */
  readonly unitMs?: number;
  /** Cap on any delay. Default 10 000 ms. */
  readonly maxMs?: number;
}

/** A neighbour of the dead zone that could take it: its id and the zones it holds now (one, or two). */
export interface TakeoverCandidate<Id extends PeerId = PeerId> {
  readonly id: Id;
  readonly zones: readonly Zone[];
}

/** One survivor's place in the takeover: its delay and the volume it holds now. */
export interface TakeoverTimer<Id extends PeerId = PeerId> {
  readonly id: Id;
  readonly delayMs: number;
  readonly volume: number;
  /** Whether this survivor holds the dead zone's sibling as one zone, so that taking it over is a merge. */
  readonly sibling: boolean;
}

export interface TakeoverPlan<Id extends PeerId = PeerId> {
  /** Who takes the dead zone: `order[0].id`. */
  readonly taker: Id;
  readonly reason: 'sibling' | 'smallest-volume';
  /** Every survivor, most preferred first: sibling, then smaller volume, then lower id. */
  readonly order: readonly TakeoverTimer<Id>[];
}

/**
 * How long a survivor waits before claiming `dead` (spec §3): 0 when it holds the dead zone's sibling as one
 * zone (the preferred taker, whose takeover is a merge), else `unitMs` × its volume ÷ the dead zone's volume, capped at
 * `maxMs`. A survivor computes this alone from what it holds; the first timer to fire claims the zone.
 */
export function takeoverDelayMs(dead: Zone, mine: readonly Zone[], options: TakeoverOptions = {}): number {
  const { unitMs, maxMs } = checkOptions(options);
  if (holdsSibling(dead, mine)) return 0;
  let ratio = 0;
  for (const zone of mine) ratio += 2 ** (dead.depth - zone.depth);
  return Math.min(maxMs, unitMs * ratio);
}

/**
 * Who takes over the zone of a dead neighbour (spec §3): the sibling when a survivor holds it as a single zone,
 * else the survivor with the smallest volume, ties to the lower id — the same order the timers of
 * `takeoverDelayMs` fire in, so that when two claims cross, both sides keep the one this order prefers.
 */
export function chooseTakeover<Id extends PeerId>(
  dead: Zone,
  survivors: readonly TakeoverCandidate<Id>[],
  options: TakeoverOptions = {},
): TakeoverPlan<Id> {
  checkOptions(options);
  const order: TakeoverTimer<Id>[] = survivors.map((survivor) => {
    if (survivor.zones.length === 0) {
      throw new CanError('NO_SURVIVORS', `survivor ${String(survivor.id)} holds no zone`);
    }
    let volume = 0;
    for (const zone of survivor.zones) {
      if (zone.dimensions !== dead.dimensions) {
        throw new CanError('DIMENSION_MISMATCH', `survivor ${String(survivor.id)} is in another space`);
      }
      volume += zone.volume;
    }
    return {
      id: survivor.id,
      delayMs: takeoverDelayMs(dead, survivor.zones, options),
      volume,
      sibling: holdsSibling(dead, survivor.zones),
    };
  });
  order.sort(preferred);
  const first = order[0];
  if (first === undefined) throw new CanError('NO_SURVIVORS', `nobody is left to take zone ${dead.path}`);
  return { taker: first.id, reason: first.sibling ? 'sibling' : 'smallest-volume', order };
}

/** The sibling counts only as one whole zone: a sibling split further cannot merge with the dead zone. */
function holdsSibling(dead: Zone, mine: readonly Zone[]): boolean {
  return mine.some((zone) => zone.isSiblingOf(dead));
}

function preferred<Id extends PeerId>(a: TakeoverTimer<Id>, b: TakeoverTimer<Id>): number {
  if (a.sibling !== b.sibling) return a.sibling ? -1 : 1;
  if (a.volume !== b.volume) return a.volume - b.volume;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

function checkOptions(options: TakeoverOptions): { unitMs: number; maxMs: number } {
  const unitMs = options.unitMs ?? DEFAULT_TAKEOVER_UNIT_MS;
  const maxMs = options.maxMs ?? DEFAULT_TAKEOVER_MAX_MS;
  for (const [name, value] of [
    ['unitMs', unitMs],
    ['maxMs', maxMs],
  ] as const) {
    if (!Number.isFinite(value) || value < 0) {
      throw new CanError(
        'INVALID_OPTION',
        `takeover ${name} must be a finite number ≥ 0, got ${String(value)}`,
      );
    }
  }
  return { unitMs, maxMs };
}
