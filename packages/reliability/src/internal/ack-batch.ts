import { ACK_RANGE_SIZE, type AckRange, MAX_ACK_RANGE_COUNT } from '@xpp/wire';

/**
 * The sequence numbers to acknowledge since the last flush, as runs of consecutive numbers. One ACK datagram
 * then carries the first number in its header and the rest as ranges (spec §5.2), instead of one datagram each.
 */
export class AckBatch {
  #firsts: number[] = [];
  #counts: number[] = [];
  #size = 0;

  /** Acknowledgements waiting. */
  get size(): number {
    return this.#size;
  }

  /** Runs of consecutive numbers waiting: the ranges {@link drain} would return. */
  get runs(): number {
    return this.#firsts.length;
  }

  /** Empties the batch into one list of ranges, oldest first (for a piggybacked ACK, which has no header number). */
  drain(): AckRange[] {
    const ranges: AckRange[] = [];
    for (let i = 0; i < this.#firsts.length; i++) {
      ranges.push({ first: this.#firsts[i] as number, count: this.#counts[i] as number });
    }
    this.clear();
    return ranges;
  }

  add(seq: number): void {
    const n = this.#firsts.length;
    if (n > 0) {
      const first = this.#firsts[n - 1] as number;
      const count = this.#counts[n - 1] as number;
      if (((first + count) & 0xffff) === seq && count < MAX_ACK_RANGE_COUNT) {
        this.#counts[n - 1] = count + 1;
        this.#size++;
        return;
      }
    }
    this.#firsts.push(seq);
    this.#counts.push(1);
    this.#size++;
  }

  /**
   * Empties the batch into ACK datagrams: `emit(headerSeq, ranges)` once per datagram, each with at most
   * `maxRanges` ranges (and within `maxPayload` octets). `extra` (the receiver's recent in-order history) is
   * added to the last datagram: four octets that make a lost ACK datagram cost no retransmission.
   */
  flush(
    maxRanges: number,
    maxPayload: number,
    extra: AckRange | undefined,
    emit: (seq: number, ranges: AckRange[]) => void,
  ): void {
    const limit = Math.max(1, Math.min(maxRanges, Math.floor(maxPayload / ACK_RANGE_SIZE)));
    const firsts = this.#firsts;
    const counts = this.#counts;
    let ranges: AckRange[] = [];
    let header = -1;
    let withExtra = extra;
    for (let i = 0; i < firsts.length; i++) {
      let first = firsts[i] as number;
      let count = counts[i] as number;
      if (header < 0) {
        header = first;
        first = (first + 1) & 0xffff;
        count--;
        if (count === 0) continue;
      }
      ranges.push({ first, count });
      if (ranges.length >= limit) {
        emit(header, ranges);
        ranges = [];
        header = -1;
        withExtra = undefined;
      }
    }
    if (header >= 0) {
      if (withExtra !== undefined && ranges.length < limit) ranges.push(withExtra);
      emit(header, ranges);
    }
    this.#firsts = [];
    this.#counts = [];
    this.#size = 0;
  }

  clear(): void {
    this.#firsts = [];
    this.#counts = [];
    this.#size = 0;
  }
}
