import { hashKey, type Point, type Zone } from '@xpp/can';
import { WireError, type Message, type XppOption } from '@xpp/wire';
import { DhtError } from '../errors.js';
import { isLasting, type RecordKind } from '../kinds.js';
import { decodePut, decodeRemove } from '../messages.js';
import type { StoredRecord } from '../store.js';
import type { WireRecord } from '../values.js';
import type { NodeCounters } from './counters.js';
import type { Neighbour } from './neighbour-table.js';
import { serving, type NodeView } from './parts.js';
import { decodeReplicate, recordSetDigest, sameDigest } from './replication.js';
import type { ZoneClaims } from './zone-claims.js';
import type { ZoneRecords } from './zone-records.js';
import { overlapping, zoneContaining } from './zones.js';

/** What a replica holder needs of its node. */
export interface ReplicaHolderContext extends NodeView {
  readonly dimensions: number;
  readonly records: ZoneRecords;
  readonly counters: NodeCounters;
  readonly claims: Pick<ZoneClaims, 'within' | 'holds' | 'unverified'>;
  decodeZones(zones: readonly Uint8Array[]): Zone[];
  neighbour(id: string): Neighbour | undefined;
  /** Whether a neighbour owns `point`, or a takeover of it is pending here. */
  ownedNearby(point: Point): boolean;
  /** The zones of peers dead recently enough that a takeover of them may still lack their replicas. */
  recentDeadZones(): readonly Zone[];
  /** Returns records of `zones` to their owner (LEAVE with RETURN, not awaited). */
  handBack(owner: Neighbour, zones: readonly Zone[], records: readonly WireRecord[]): void;
}

/** Records sent along with `zones` (replicated, returned) must each lie in one of them. */
export function assertWithin(
  records: readonly WireRecord[],
  zones: readonly Zone[],
  dimensions: number,
): void {
  for (const record of records)
    if (zoneContaining(zones, hashKey(record.key, dimensions)) === undefined)
      throw new WireError('BAD_VALUE', `record ${record.key} lies outside the zones it is sent with`);
}

/**
 * A CREDENTIAL goes only by an administrator-signed tombstone (a PUT), a REVOCATION never (spec §5.6): no peer may
 * REMOVE either, routed or as a replica write.
 */
export function assertRemovable(kind: RecordKind): void {
  if (isLasting(kind))
    throw new DhtError(
      'FORBIDDEN',
      'a CREDENTIAL or REVOCATION is removed only by an administrator-signed record',
    );
}

/**
 * This node as the replica holder of its neighbours' zones (spec §4): takes REPLICATE (a zone's records, a digest
 * check, a drop) and the owner's direct replica writes, and drops replicas nobody near could ever take over.
 */
export class ReplicaHolder {
  readonly #ctx: ReplicaHolderContext;

  constructor(ctx: ReplicaHolderContext) {
    this.#ctx = ctx;
  }

  onReplicate(from: string, request: Message): readonly XppOption[] {
    const ctx = this.#ctx;
    if (!serving(ctx.state())) throw new DhtError('NOT_A_PEER', 'not a peer');
    const body = decodeReplicate(request.options);
    const zones = ctx.decodeZones(body.zones);
    if (overlapping(zones, ctx.zones())) throw new DhtError('CONFLICT', 'replicas of a zone this node owns');
    // Only the owner of a zone replicates it. A drop returns a dead zone's replicas to its sender: only to the owner
    // as this node knows it. Copies and checks may come from a new owner before its announcement: counted only.
    const held = ctx.neighbour(from)?.zones ?? [];
    const drop = body.digest === undefined && body.records.length === 0;
    if (drop) ctx.claims.within(zones, held, 'a REPLICATE drop');
    else if (!ctx.claims.holds(zones, held)) ctx.claims.unverified();
    if (body.digest !== undefined) {
      if (!sameDigest(recordSetDigest(ctx.records.inZones(zones, 'replica')), body.digest)) {
        ctx.counters.refuse('replicas-differ');
        throw new DhtError('CONFLICT', 'the replicas held here differ from the owner’s');
      }
      return [];
    }
    if (body.records.length === 0) {
      const dropped = ctx.records.take(zones, 'replica');
      this.#returnDeadReplicas(from, zones, dropped);
      return [];
    }
    assertWithin(body.records, zones, ctx.dimensions);
    const result = ctx.records.insert(body.records, 'replica');
    const [refused] = result.refused;
    if (refused !== undefined) throw refused.error;
    return [];
  }

  /** A PUT sent directly (not routed): the owner's replica write. */
  onPut(from: string, request: Message): readonly XppOption[] {
    const put = decodePut(request.options);
    this.#assertReplica(from, put.replica === true, put.key);
    this.#ctx.records.store.put({
      key: put.key,
      kind: put.kind,
      value: put.value,
      lifetime: put.lifetime,
      role: 'replica',
    });
    return [];
  }

  /** A REMOVE sent directly (not routed): the owner's replica write. */
  onRemove(from: string, request: Message): readonly XppOption[] {
    const remove = decodeRemove(request.options);
    this.#assertReplica(from, remove.replica === true, remove.key);
    assertRemovable(remove.kind);
    this.#ctx.records.store.remove(remove.key, remove.kind, remove.bindingId);
    return [];
  }

  /** Drops the replicas whose owner is no neighbour of this node any more (it could never take them). */
  prune(): void {
    const stale = this.#ctx.records.takeWhere('replica', (p) => !this.#ctx.ownedNearby(p));
    if (stale.length > 0) this.#ctx.counters.refuse('stale-replicas-dropped');
  }

  /**
   * A PUT or REMOVE sent directly (not routed) is a replica write, never for a point this node owns, and only from
   * the owner of the point (spec §5.6: nobody writes in another's zone).
   */
  #assertReplica(from: string, replica: boolean, key: string): void {
    if (!serving(this.#ctx.state())) throw new DhtError('NOT_A_PEER', 'not a peer');
    if (!replica) throw new WireError('BAD_VALUE', 'a direct PUT or REMOVE must be a replica write');
    const point = hashKey(key, this.#ctx.dimensions);
    if (zoneContaining(this.#ctx.zones(), point) !== undefined)
      throw new DhtError('CONFLICT', 'this node owns that point: it holds no replica of it');
    // A new owner may write before its announcement arrives here: a write outside its zones is counted only.
    const held = this.#ctx.neighbour(from)?.zones ?? [];
    if (!held.some((z) => z.contains(point))) this.#ctx.claims.unverified();
  }

  /**
   * The owner of `zones` told this node to drop its replicas there. Those of a dead peer's zone go back to the owner
   * first (LEAVE with RETURN; it keeps what it has no primary of): the owner may have taken the zone over without
   * them — a survivor that knew only part of the dead zone, ranked first for that part while holding none of its
   * replicas — and the holder may not have known the taker when its own takeover gave way. In the 1,000-peer
   * simulation such records were lost.
   */
  #returnDeadReplicas(from: string, zones: readonly Zone[], dropped: readonly StoredRecord[]): void {
    const owner = this.#ctx.neighbour(from);
    if (owner === undefined || dropped.length === 0) return;
    const dead = this.#ctx.recentDeadZones().filter((z) => overlapping([z], zones));
    const records = this.#ctx.records
      .wire(dropped.filter((r) => this.#ctx.records.within(r, dead)))
      .filter((r) => r.lifetime > 0);
    if (records.length > 0) this.#ctx.handBack(owner, zones, records);
  }
}
