import { DhtError } from './errors.js';

/** What one writing peer holds in a store. */
interface Held {
  records: number;
  octets: number;
}

/** Why a write was refused by a writer's bound. */
export type WriterRefusal = 'writer-records' | 'writer-octets';

/**
 * Per-writer bounds of a store (spec §5.6): the records and octets one certified peer has written into it, so that
 * no single peer can fill every store it reaches. Records written with no writer (the node's own, replicas the
 * owner already bounded) are not counted here; the store's own bounds still hold for them.
 */
export class WriterQuota {
  readonly #maxRecords: number;
  readonly #maxOctets: number;
  readonly #held = new Map<string, Held>();

  constructor(maxRecords: number, maxOctets: number) {
    this.#maxRecords = maxRecords;
    this.#maxOctets = maxOctets;
  }

  /** What `writer` holds now (zeros when nothing). */
  of(writer: string): Readonly<Held> {
    return this.#held.get(writer) ?? { records: 0, octets: 0 };
  }

  /**
   * Throws `WRITER_QUOTA` (503) when `writer` may not add a record of `size` octets; `replaced` is the size of
   * the record it replaces when that one is its own too (then only the difference counts).
   */
  check(writer: string, size: number, replaced: number | undefined): WriterRefusal | undefined {
    const held = this.of(writer);
    const records = held.records + (replaced === undefined ? 1 : 0);
    const octets = held.octets - (replaced ?? 0) + size;
    if (records > this.#maxRecords) return 'writer-records';
    if (octets > this.#maxOctets) return 'writer-octets';
    return undefined;
  }

  add(writer: string | undefined, size: number): void {
    if (writer === undefined) return;
    const held = this.#held.get(writer);
    if (held === undefined) this.#held.set(writer, { records: 1, octets: size });
    else {
      held.records++;
      held.octets += size;
    }
  }

  release(writer: string | undefined, size: number): void {
    if (writer === undefined) return;
    const held = this.#held.get(writer);
    if (held === undefined) return;
    held.records--;
    held.octets -= size;
    if (held.records <= 0) this.#held.delete(writer);
  }

  /** The error a refusal is thrown as. */
  static error(writer: string, why: WriterRefusal, limit: { records: number; octets: number }): DhtError {
    const bound = why === 'writer-records' ? `${limit.records} records` : `${limit.octets} octets`;
    return new DhtError('WRITER_QUOTA', `peer ${writer} holds its bound of ${bound} in this store`);
  }
}
