import { chooseTakeover, type TakeoverCandidate, type TakeoverOptions, type Zone } from '@xpp/can';
import { defaultRegistry, WireError, type XppOption } from '@xpp/wire';
import { DhtOption } from '../options.js';
import { readRecords, recordOptions } from '../records.js';
import type { WireRecord } from '../values.js';

/**
 * REPLICATE (0x0108): the owner of `zones` brings a replica holder up to date, directly on their session. Without
 * records it says "drop the replicas you hold of these zones" (the holder is no longer one of the zone's replica
 * peers, or a full copy follows); with records, "hold these as replicas" (each lies in one of `zones`). A full
 * re-replication is one drop, then the zone's records in batches. docs/decisions/dht-replication.md.
 */
export const REPLICATE = defaultRegistry.defineOperation({ type: 0x0108, name: 'REPLICATE' });

export interface ReplicateRequest {
  /** Encoded zones of the sender that the records belong to. */
  readonly zones: readonly Uint8Array[];
  readonly records: readonly WireRecord[];
}

export function encodeReplicate(body: ReplicateRequest): XppOption[] {
  return [...body.zones.map((zone) => DhtOption.ZONE.option(zone, true)), ...recordOptions(body.records)];
}

/** Throws `WireError` only. */
export function decodeReplicate(options: readonly XppOption[], maxRecords?: number): ReplicateRequest {
  const zones = DhtOption.ZONE.findAll(options);
  if (zones.length === 0) throw new WireError('MISSING_OPTION', 'required option ZONE is absent');
  return { zones, records: readRecords(options, maxRecords) };
}

/** Default replicas of every record (spec §4). */
export const DEFAULT_REPLICAS = 2;

/**
 * The peers that hold replicas of `zone`'s records: the first `count` that would take the zone over if its owner
 * died (spec §4) — the sibling when it is one whole zone, then the smallest volumes, ties to the lower id.
 */
export function replicaTargets(
  zone: Zone,
  candidates: readonly TakeoverCandidate<string>[],
  count: number,
  options?: TakeoverOptions,
): string[] {
  if (candidates.length === 0 || count <= 0) return [];
  return chooseTakeover(zone, candidates, options)
    .order.slice(0, count)
    .map((t) => t.id);
}
