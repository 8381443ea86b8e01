import type { Point, TakeoverOptions, Zone } from '@xpp/can';
import type { Message, XppOption } from '@xpp/wire';
import { batchRecords } from '../records.js';
import type { RecordStore, StoredRecord } from '../store.js';
import type { WireRecord } from '../values.js';
import type { ReplicatedEvent } from './events.js';
import type { ReplicationStats } from './types.js';
import { adjacent, type Neighbour, type NeighbourTable } from './neighbour-table.js';
import { DhtError } from '../errors.js';
import { decodePut } from '../messages.js';
import { DhtOperation } from '../operations.js';
import { encodeReplicate, recordSetDigest, REPLICATE, replicaTargets } from './replication.js';

export type { ReplicationStats };

/** What a replicator needs of its node: its table, store and zones, and a request to a neighbour. */
export interface ReplicatorContext {
  readonly neighbours: NeighbourTable;
  readonly store: RecordStore;
  /** Replicas of every record (spec §4). */
  readonly replicas: number;
  readonly takeoverOptions: TakeoverOptions;
  /** Octets of records in one REPLICATE. */
  readonly batchOctets: number;
  /** The node's zones now. */
  zones(): readonly Zone[];
  pointOf(record: StoredRecord): Point;
  encodeZones(zones: readonly Zone[]): Uint8Array[];
  /** A request to neighbour `n` over its current link (`timeout`: the link's default when undefined). */
  request(n: Neighbour, type: number, options: readonly XppOption[], timeout?: number): Promise<Message>;
  /** A replica holder received the records of one of the node's zones. */
  replicated(event: ReplicatedEvent): void;
  /** A holder's copy differed from the zone's records: a pass should send the zone again. */
  resync(): void;
  /** Runs `flush` once the current turn of the event loop is over (default `setImmediate`): the batching window. */
  defer?(flush: () => void): void;
  /**
   * How long an owner's answer waits for a holder's commit of a write: the timeout of the replica write's request
   * (default: the link's own). Shorter than the routed request's timeout, so that the answer still reaches its
   * origin when a holder never answers (docs/decisions/dht-replica-ack.md).
   */
  readonly ackTimeout?: number;
  /** Writes waiting for one holder's answer (default 4096); past it the holder is not waited for. */
  readonly maxPendingAcks?: number;
}

/** Whether one holder committed one write. */
type HolderAck = (committed: boolean) => void;

/** The replica PUTs for one holder made during the current turn, sent together when it ends. */
interface PendingWrites {
  readonly zones: Map<string, Zone>;
  readonly records: WireRecord[];
  /** Per record, what learns whether the holder committed it. */
  readonly acks: HolderAck[];
}

const DEFAULT_MAX_PENDING_ACKS = 4096;

/**
 * Keeps the replica holders of a node's zones up to date (spec §4): forwards each write the owner makes, and after
 * a change of the node's zones or its neighbours' sends a new holder the zone's records and a former holder a drop.
 * On each refresh it checks what every holder holds against a digest of the zone and sends a zone again where they
 * differ: a holder can miss a write or lose its copy in ways the owner never hears of (a drop from a zone's former
 * owner, a prune on a stale view), and bookkeeping alone would never repair that. Counts the replica writes in
 * flight, sent and failed, and the checks and the differences they found.
 */
export class Replicator {
  readonly #ctx: ReplicatorContext;
  /** Per neighbour, the paths of this node's zones it holds full replicas of. */
  readonly #holding = new Map<string, ReadonlySet<string>>();
  /** This node's zones changed since the last pass: non-targets are told to drop replicas. */
  #fresh = false;
  #inFlight = 0;
  #sent = 0;
  #failed = 0;
  #checked = 0;
  #differed = 0;
  #degraded = 0;
  #unreplicated = 0;
  /** Per holder, the writes waiting for its answer. */
  readonly #awaiting = new Map<string, number>();
  /** Per holder, this turn's replica PUTs not yet sent (counted in flight). */
  readonly #pending = new Map<string, PendingWrites>();

  constructor(ctx: ReplicatorContext) {
    this.#ctx = ctx;
  }

  get inFlight(): number {
    return this.#inFlight;
  }

  get stats(): ReplicationStats {
    return {
      inFlight: this.#inFlight,
      sent: this.#sent,
      failed: this.#failed,
      checked: this.#checked,
      differed: this.#differed,
      degraded: this.#degraded,
      unreplicated: this.#unreplicated,
    };
  }

  /** The node's zones changed (or it holds new primaries): the next pass looks at every neighbour again. */
  refresh(): void {
    this.#fresh = true;
  }

  /** A neighbour left the table: what it held is forgotten. */
  forget(id: string): void {
    this.#holding.delete(id);
  }

  /** The peers that hold replicas of `zone`: the first `replicas` its takeover would choose among its neighbours. */
  targetsOf(zone: Zone): string[] {
    const candidates = this.#ctx.neighbours
      .adjacentTo([zone])
      .filter((n) => n.zones.length > 0)
      .map((n) => ({ id: n.id, zones: n.zones }));
    return replicaTargets(zone, candidates, this.#ctx.replicas, this.#ctx.takeoverOptions);
  }

  /**
   * Sends a write the owner just made to the replica holders of `zone`, and says when it may be acknowledged
   * (spec §4: once committed where it is held). The PUTs of one event-loop turn go to each holder as one REPLICATE
   * (a busy owner makes many a turn: one request and one answer instead of one each); a REMOVE goes on its own,
   * after the PUTs made before it. The result settles once every holder answered (or its request failed): resolved
   * when at least one committed the write, or there is no holder at all; else rejected with `NOT_REPLICATED` (503),
   * since the write then lives on this peer only and a 200 would not survive its loss.
   */
  write(zone: Zone, type: number, options: readonly XppOption[]): Promise<void> | undefined {
    const answers: Promise<boolean>[] = [];
    for (const id of this.targetsOf(zone)) {
      const n = this.#ctx.neighbours.get(id);
      if (n === undefined) continue;
      if (type === DhtOperation.PUT.type) {
        answers.push(new Promise<boolean>((ack) => this.#queue(id, zone, options, this.#awaited(id, ack))));
        continue;
      }
      this.#flush(id);
      answers.push(
        new Promise<boolean>((ack) => {
          const answered = this.#awaited(id, ack);
          void this.#tracked(async () => {
            await this.#ctx.request(n, type, options, this.#ctx.ackTimeout);
          }).then(answered);
        }),
      );
    }
    // A peer alone in its overlay (or with no neighbour abutting the zone) holds the only copy there can be.
    return answers.length === 0 ? undefined : this.#acknowledged(answers);
  }

  async #acknowledged(answers: readonly Promise<boolean>[]): Promise<void> {
    const committed = (await Promise.all(answers)).filter(Boolean).length;
    if (committed === 0) {
      this.#unreplicated++;
      throw new DhtError('NOT_REPLICATED', 'no replica holder committed the write; retry');
    }
    if (committed < answers.length) this.#degraded++;
  }

  /**
   * `ack`, counted among the writes waiting for holder `id` until it is called. Past `maxPendingAcks` the holder
   * is not waited for (it still gets the write): it counts as not having committed it, and memory stays bounded
   * however slow a holder is.
   */
  #awaited(id: string, ack: HolderAck): HolderAck {
    const waiting = this.#awaiting.get(id) ?? 0;
    if (waiting >= (this.#ctx.maxPendingAcks ?? DEFAULT_MAX_PENDING_ACKS)) {
      ack(false);
      return () => undefined;
    }
    this.#awaiting.set(id, waiting + 1);
    let done = false;
    return (committed) => {
      if (done) return;
      done = true;
      const left = (this.#awaiting.get(id) ?? 1) - 1;
      if (left === 0) this.#awaiting.delete(id);
      else this.#awaiting.set(id, left);
      ack(committed);
    };
  }

  #queue(id: string, zone: Zone, options: readonly XppOption[], ack: HolderAck): void {
    const { key, kind, value, lifetime } = decodePut(options);
    let pending = this.#pending.get(id);
    if (pending === undefined) {
      pending = { zones: new Map(), records: [], acks: [] };
      this.#pending.set(id, pending);
      this.#inFlight++;
      (this.#ctx.defer ?? setImmediate)(() => this.#flush(id));
    }
    pending.zones.set(zone.path, zone);
    pending.records.push({ key, kind, value, lifetime });
    pending.acks.push(ack);
  }

  /**
   * Sends the holder's pending PUTs now (REPLICATE batches of at most `batchOctets` of records); each write learns
   * whether the batch that carried it was committed.
   */
  #flush(id: string): void {
    const pending = this.#pending.get(id);
    if (pending === undefined) return;
    this.#pending.delete(id);
    this.#inFlight--;
    const n = this.#ctx.neighbours.get(id);
    if (n === undefined) {
      for (const ack of pending.acks) ack(false);
      return;
    }
    const zones = this.#ctx.encodeZones([...pending.zones.values()]);
    let first = 0;
    for (const batch of batchRecords(pending.records, this.#ctx.batchOctets)) {
      const acks = pending.acks.slice(first, (first += batch.length));
      void this.#tracked(async () => {
        await this.#ctx.request(
          n,
          REPLICATE.type,
          encodeReplicate({ zones, records: batch }),
          this.#ctx.ackTimeout,
        );
      }).then((committed) => {
        for (const ack of acks) ack(committed);
      });
    }
  }

  /**
   * Brings every replica holder up to date after a change of this node's zones or of its neighbours' (spec §4):
   * a new holder of a zone gets the zone's records (a drop, then batches), a former holder a drop.
   */
  async pass(): Promise<void> {
    const fresh = this.#fresh;
    this.#fresh = false;
    const zones = this.#ctx.zones();
    const wanted = new Map<string, Zone[]>();
    for (const zone of zones) {
      for (const id of this.targetsOf(zone)) wanted.set(id, [...(wanted.get(id) ?? []), zone]);
    }
    const mine = new Set(zones.map((z) => z.path));
    for (const id of this.#holding.keys())
      if (this.#ctx.neighbours.get(id) === undefined) this.#holding.delete(id);
    const jobs: Promise<void>[] = [];
    for (const n of this.#ctx.neighbours.values()) {
      const want = wanted.get(n.id) ?? [];
      const wantPaths = new Set(want.map((z) => z.path));
      const last = this.#holding.get(n.id);
      const sync = want.filter((z) => last?.has(z.path) !== true);
      // A neighbour never told anything may hold replicas of these zones from their former owner (a zone taken
      // over or handed here while it was not yet in the table): told to drop them once, like every neighbour after
      // a change of this node's zones — else it keeps a stale copy for good.
      const drop = zones.filter(
        (z) =>
          !wantPaths.has(z.path) &&
          mine.has(z.path) &&
          (last?.has(z.path) === true || ((fresh || last === undefined) && adjacent(n.zones, [z]))),
      );
      if (sync.length === 0 && drop.length === 0) continue;
      jobs.push(this.#replicateTo(n, sync, drop, wantPaths));
    }
    await Promise.all(jobs);
  }

  /**
   * Asks every holder whether it holds exactly this node's records of each zone it is known to hold (at each
   * refresh; not awaited, so that a slow holder never holds up a pass). A holder that answers 409 is no longer
   * counted as holding the zone, and `resync` asks for the pass that sends it again; so does a target that holds
   * no copy yet.
   */
  verify(): void {
    const { store } = this.#ctx;
    // A holder whose copy never arrived (the pass's REPLICATE failed: a link still being set up, a timeout under
    // load) is not in `#holding`, so no digest check would find it; nothing else asks for a pass while the zones
    // and neighbours stay as they are, and the zone would live on one peer only. Asked again at each refresh.
    if (
      this.#ctx
        .zones()
        .some((zone) => this.targetsOf(zone).some((id) => this.#holding.get(id)?.has(zone.path) !== true))
    )
      this.#ctx.resync();
    for (const zone of this.#ctx.zones()) {
      const holders = [...this.#holding].filter(([, paths]) => paths.has(zone.path)).map(([id]) => id);
      if (holders.length === 0) continue;
      // One digest per zone, whatever the number of holders.
      const digest = recordSetDigest(
        store.select((r) => r.role === 'primary' && zone.contains(this.#ctx.pointOf(r))),
      );
      const check = encodeReplicate({ zones: this.#ctx.encodeZones([zone]), records: [], digest });
      for (const id of holders) {
        const n = this.#ctx.neighbours.get(id);
        if (n === undefined) continue;
        this.#checked++;
        this.#ctx.request(n, REPLICATE.type, check).catch((error: unknown) => {
          if (!DhtError.is(error) || error.status !== 409) return;
          this.#differed++;
          const held = this.#holding.get(id);
          if (held !== undefined) this.#holding.set(id, new Set([...held].filter((p) => p !== zone.path)));
          this.#ctx.resync();
        });
      }
    }
  }

  async #replicateTo(
    n: Neighbour,
    sync: readonly Zone[],
    drop: readonly Zone[],
    want: ReadonlySet<string>,
  ): Promise<void> {
    const { store } = this.#ctx;
    await this.#tracked(async () => {
      const send = (zone: Zone, records: readonly WireRecord[]) =>
        this.#ctx.request(
          n,
          REPLICATE.type,
          encodeReplicate({ zones: this.#ctx.encodeZones([zone]), records }),
        );
      for (const zone of drop) await send(zone, []);
      for (const zone of sync) {
        const records = store
          .select((r) => r.role === 'primary' && zone.contains(this.#ctx.pointOf(r)))
          .map((r) => store.toWire(r));
        await send(zone, []);
        for (const batch of batchRecords(records, this.#ctx.batchOctets)) await send(zone, batch);
        this.#ctx.replicated({ to: n.id, zone, records: records.length });
      }
      this.#holding.set(n.id, want);
    });
  }

  /** Runs `work`, counted in flight, then as sent or failed; true when it succeeded. */
  async #tracked(work: () => Promise<void>): Promise<boolean> {
    this.#inFlight++;
    try {
      await work();
      this.#sent++;
      return true;
    } catch {
      this.#failed++;
      return false;
    } finally {
      this.#inFlight--;
    }
  }
}
