export { CanError, type CanErrorCode } from './errors.js';
export {
  DEFAULT_DIMENSIONS,
  MIN_DIMENSIONS,
  MAX_DIMENSIONS,
  COORDINATE_RANGE,
  MAX_ZONE_DEPTH,
  type Point,
  checkDimensions,
  checkPoint,
  isCoordinate,
  maxZoneDepth,
} from './space.js';
export { Zone } from './zone.js';
export { hashKey, hashAor, normaliseAor, MAX_AOR_LENGTH } from './hash.js';
export { type SquaredDistance, axisDistance, squaredDistance, torusDistance } from './distance.js';
export { neighbourAxis, areNeighbours, neighboursAmong } from './neighbours.js';
export { type PeerId, type NeighbourZone, type RouteDecision, nextHop } from './routing.js';
export {
  DEFAULT_TAKEOVER_UNIT_MS,
  DEFAULT_TAKEOVER_MAX_MS,
  type TakeoverOptions,
  type TakeoverCandidate,
  type TakeoverTimer,
  type TakeoverPlan,
  takeoverDelayMs,
  chooseTakeover,
} from './takeover.js';
export { type TilingReport, checkTiling } from './tiling.js';
export { pointCodec, zoneCodec } from './codecs.js';
export {
  type JoinRule,
  JOIN_RULES,
  MAX_JOIN_ATTEMPTS,
  type OverlayOptions,
  type RouteResult,
  type ZoneEntry,
  SimulatedOverlay,
} from './sim/overlay.js';
export {
  MAX_SIMULATED_PEERS,
  MAX_SIMULATED_LOOKUPS,
  type SimulationOptions,
  type SimulationReport,
  runSimulation,
} from './sim/run.js';
