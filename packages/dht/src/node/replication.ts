import { createHash } from 'node:crypto';
import { chooseTakeover, type TakeoverCandidate, type TakeoverOptions, type Zone } from '@xpp/can';
import { defaultRegistry, WireError, type XppOption } from '@xpp/wire';
import { DhtOption, REPLICA_DIGEST_OCTETS, type ReplicaDigest } from '../options.js';
import type { StoredRecord } from '../store.js';
import { readRecords, recordOptions } from '../records.js';
import type { WireRecord } from '../values.js';

/**
 * REPLICATE (0x0108): the owner of `zones` brings a replica holder up to date, directly on their session. Without
 * records it says "drop the replicas you hold of these zones" (the holder is no longer one of the zone's replica
 * peers, or a full copy follows); with records, "hold these as replicas" (each lies in one of `zones`); with a
 * DIGEST, "check that you hold exactly this" (409 when not). A full re-replication is one drop, then the zone's
 * records in batches. docs/decisions/dht-replication.md.
 */
export const REPLICATE = defaultRegistry.defineOperation({ type: 0x0108, name: 'REPLICATE' });

export interface ReplicateRequest {
  /** Encoded zones of the sender that the records belong to. */
  readonly zones: readonly Uint8Array[];
  readonly records: readonly WireRecord[];
  /** A check of what the holder holds of `zones` (then `records` is empty). */
  readonly digest?: ReplicaDigest;
}

export function encodeReplicate(body: ReplicateRequest): XppOption[] {
  return [
    ...body.zones.map((zone) => DhtOption.ZONE.option(zone, true)),
    ...recordOptions(body.records),
    ...(body.digest === undefined ? [] : [DhtOption.DIGEST.option(body.digest, true)]),
  ];
}

/** Throws `WireError` only. */
export function decodeReplicate(options: readonly XppOption[], maxRecords?: number): ReplicateRequest {
  const zones = DhtOption.ZONE.findAll(options);
  if (zones.length === 0) throw new WireError('MISSING_OPTION', 'required option ZONE is absent');
  const records = readRecords(options, maxRecords);
  const digest = DhtOption.DIGEST.find(options);
  if (digest === undefined) return { zones, records };
  if (records.length > 0) throw new WireError('BAD_VALUE', 'a REPLICATE with a DIGEST carries no records');
  return { zones, records, digest };
}

/**
 * The digest of a set of records, in any order: the count, and the XOR of the first 16 octets of each record's
 * SHA-256 over its kind, key digest, subkey and value. Primary and replica of one record digest alike (their
 * expiry times, set on arrival, are left out).
 */
export function recordSetDigest(records: Iterable<StoredRecord>): ReplicaDigest {
  const digest = new Uint8Array(REPLICA_DIGEST_OCTETS);
  let count = 0;
  for (const r of records) {
    const hash = createHash('sha256')
      .update(Uint8Array.of(r.kind))
      .update(r.keyDigest)
      .update(r.subkey)
      .update(Uint8Array.of(0))
      .update(r.value)
      .digest();
    for (let i = 0; i < digest.length; i++) digest[i] = (digest[i] as number) ^ (hash[i] as number);
    count++;
  }
  return { records: count, digest };
}

/** Whether two digests describe the same set. */
export function sameDigest(a: ReplicaDigest, b: ReplicaDigest): boolean {
  return a.records === b.records && a.digest.every((octet, i) => octet === b.digest[i]);
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
