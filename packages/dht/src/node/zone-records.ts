import type { Point, Zone } from '@xpp/can';
import type { InsertResult, RecordRole, RecordStore, StoredRecord } from '../store.js';
import type { WireRecord } from '../values.js';
import { pointOfDigest, zoneContaining } from './zones.js';

/**
 * The node's records as its parts ask for them: by zone and role. Every hand-off, takeover, repair and replica
 * exchange asks for "the records whose point lies in these zones, held in this role"; asking it here rather than
 * with raw predicates lets a durable store behind {@link RecordStore} answer it from an index one day.
 */
export class ZoneRecords {
  readonly store: RecordStore;
  readonly #dimensions: number;

  constructor(store: RecordStore, dimensions: number) {
    this.store = store;
    this.#dimensions = dimensions;
  }

  /** The CAN point of a record's key. */
  pointOf(record: StoredRecord): Point {
    return pointOfDigest(record.keyDigest, this.#dimensions);
  }

  /** Whether `record` lies in one of `zones` (and holds `role`, when given). */
  within(record: StoredRecord, zones: readonly Zone[], role?: RecordRole): boolean {
    return (
      (role === undefined || record.role === role) &&
      zoneContaining(zones, this.pointOf(record)) !== undefined
    );
  }

  inZones(zones: readonly Zone[], role?: RecordRole): StoredRecord[] {
    return this.store.select((r) => this.within(r, zones, role));
  }

  /** Removes and returns the records of `zones` (in `role`, when given). */
  take(zones: readonly Zone[], role?: RecordRole): StoredRecord[] {
    return this.store.extract((r) => this.within(r, zones, role));
  }

  /** Removes and returns the records held in `role` whose point `at` accepts. */
  takeWhere(role: RecordRole, at: (point: Point) => boolean): StoredRecord[] {
    return this.store.extract((r) => r.role === role && at(this.pointOf(r)));
  }

  /** Replicas of `zones` become primaries (a taker owns the zone now); returns how many. */
  promote(zones: readonly Zone[]): number {
    return this.store.setRole((r) => this.within(r, zones, 'replica'), 'primary');
  }

  /** Primaries of `zones` become replicas (the zone was given up); returns how many. */
  demote(zones: readonly Zone[]): number {
    return this.store.setRole((r) => this.within(r, zones, 'primary'), 'replica');
  }

  insert(records: readonly WireRecord[], role: RecordRole): InsertResult {
    return this.store.insert(records, role);
  }

  /** The records as sent to another peer. */
  wire(records: readonly StoredRecord[]): WireRecord[] {
    return records.map((r) => this.store.toWire(r));
  }
}
