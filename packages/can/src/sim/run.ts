import { performance } from 'node:perf_hooks';
import { CanError } from '../errors.js';
import { DEFAULT_DIMENSIONS } from '../space.js';
import { SimulatedOverlay, type JoinRule } from './overlay.js';

/** Largest overlay `runSimulation` builds: 100k peers take a few seconds and some hundred MB. */
export const MAX_SIMULATED_PEERS = 1_000_000;
/** Most lookups one run routes. */
export const MAX_SIMULATED_LOOKUPS = 1_000_000;

export interface SimulationOptions {
  /** Peers to build the overlay to. */
  readonly n: number;
  /** Dimensions. Default 4. */
  readonly d?: number;
  /** Seed. Default 1. */
  readonly seed?: number;
  /** Join rule. Default `uniform` (the CAN paper's). */
  readonly join?: JoinRule;
  /** Fraction of peers to crash after building, each healed by takeover before the next. Default 0. */
  readonly kill?: number;
  /** Random lookups to route (random live start peer, random target point). Default 10 000. */
  readonly lookups?: number;
  /** Clock for the timings, in ms. Default `performance.now`. */
  readonly now?: () => number;
}

export interface SimulationReport {
  readonly n: number;
  readonly d: number;
  readonly meanHops: number;
  readonly p99Hops: number;
  /** Distinct neighbour peers per live peer. */
  readonly meanNeighbours: number;
  /** `ok` when every point has exactly one live owner and every lookup was delivered at it. */
  readonly owners: 'ok' | 'broken';
  readonly buildMs: number;
  readonly routeMs: number;
  readonly join: JoinRule;
  readonly seed: number;
  readonly lookups: number;
  readonly maxHops: number;
  /** Lookups that did not end at the target's owner (0 unless something is broken). */
  readonly undelivered: number;
  /** The CAN paper's expected path length, (d/4)·n^(1/d), for the live peer count. */
  readonly canFormula: number;
  readonly hopsRatio: number;
  readonly killed: number;
  readonly killMs: number;
  readonly alive: number;
  readonly zones: number;
  /** Largest ÷ smallest volume a live peer holds. */
  readonly volumeSpread: number;
  /** Most zones any live peer holds (2 or more only after takeovers). */
  readonly maxZonesPerPeer: number;
}

/** Builds an overlay, optionally crashes part of it, routes random lookups and reports (the `sim` CLI's figures). */
export function runSimulation(options: SimulationOptions): SimulationReport {
  const { n, d = DEFAULT_DIMENSIONS, seed = 1, join = 'uniform', kill = 0, lookups = 10_000 } = options;
  const now = options.now ?? (() => performance.now());
  checkCount('n', n, 1, MAX_SIMULATED_PEERS);
  checkCount('lookups', lookups, 1, MAX_SIMULATED_LOOKUPS);

  let started = now();
  const overlay = new SimulatedOverlay({ dimensions: d, seed });
  overlay.grow(n, join);
  const buildMs = now() - started;

  started = now();
  const killed = overlay.killFraction(kill);
  const killMs = now() - started;

  started = now();
  const hops = new Uint32Array(lookups);
  let undelivered = 0;
  for (let i = 0; i < lookups; i++) {
    const result = overlay.route(overlay.randomPeer(), overlay.randomPoint());
    hops[i] = result.hops;
    if (!result.delivered) undelivered++;
  }
  const routeMs = now() - started;

  hops.sort();
  let total = 0;
  for (const h of hops) total += h;
  const meanHops = total / lookups;
  const alive = overlay.size;
  const canFormula = (d / 4) * alive ** (1 / d);
  const owners = overlay.checkOwners().ok && undelivered === 0 ? 'ok' : 'broken';
  return {
    n,
    d,
    meanHops: round(meanHops),
    p99Hops: hops[Math.min(lookups - 1, Math.ceil(0.99 * lookups) - 1)] as number,
    meanNeighbours: round(meanNeighbours(overlay)),
    owners,
    buildMs: Math.round(buildMs),
    routeMs: Math.round(routeMs),
    join,
    seed,
    lookups,
    maxHops: hops[lookups - 1] as number,
    undelivered,
    canFormula: round(canFormula),
    hopsRatio: round(meanHops / canFormula),
    killed,
    killMs: Math.round(killMs),
    alive,
    zones: overlay.zoneCount,
    ...volumeFigures(overlay),
  };
}

function meanNeighbours(overlay: SimulatedOverlay): number {
  let total = 0;
  for (const id of overlay.peerIds()) total += overlay.neighboursOf(id).length;
  return total / overlay.size;
}

function volumeFigures(overlay: SimulatedOverlay): { volumeSpread: number; maxZonesPerPeer: number } {
  let smallest = Infinity;
  let largest = 0;
  let maxZonesPerPeer = 0;
  for (const id of overlay.peerIds()) {
    const zones = overlay.zonesOf(id);
    let volume = 0;
    for (const zone of zones) volume += zone.volume;
    smallest = Math.min(smallest, volume);
    largest = Math.max(largest, volume);
    maxZonesPerPeer = Math.max(maxZonesPerPeer, zones.length);
  }
  return { volumeSpread: round(largest / smallest), maxZonesPerPeer };
}

function checkCount(name: string, value: number, min: number, max: number): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new CanError(
      'INVALID_OPTION',
      `${name} must be an integer in ${min}..${max}, got ${String(value)}`,
    );
  }
}

function round(value: number): number {
  return Math.round(value * 1000) / 1000;
}
