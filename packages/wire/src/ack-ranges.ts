import { WireError } from './errors.js';
import { checkUint, readU16, writeU16 } from './internal/bytes.js';

/** `count` consecutive sequence numbers from `first` (wrapping at 2^16), all acknowledged. */
export interface AckRange {
  readonly first: number;
  readonly count: number;
}

/** Octets of one range in an ACK payload. */
export const ACK_RANGE_SIZE = 4;
/** A range never spans half the sequence space: the send window stays below 32768 (spec §2). */
export const MAX_ACK_RANGE_COUNT = 0x8000;

/** Encodes the optional ACK payload (spec §5.2): repeated (u16 first, u16 count). */
export function encodeAckRanges(ranges: readonly AckRange[], target?: Uint8Array, offset = 0): Uint8Array {
  const size = ranges.length * ACK_RANGE_SIZE;
  const out = target ?? new Uint8Array(size);
  if (offset + size > out.length) {
    throw new WireError(
      'TOO_LARGE',
      `ACK ranges need ${size} octets at ${offset}, the buffer has ${out.length}`,
    );
  }
  let at = offset;
  for (const range of ranges) {
    checkUint(range.first, 0xffff, 'ACK range first');
    checkUint(range.count, MAX_ACK_RANGE_COUNT, 'ACK range count');
    if (range.count === 0) throw new WireError('INVALID_FIELD', 'ACK range count must be at least 1');
    writeU16(out, at, range.first);
    writeU16(out, at + 2, range.count);
    at += ACK_RANGE_SIZE;
  }
  return out.subarray(offset, offset + size);
}

/**
 * Reads an ACK payload. Empty means "only the header's sequence number". The count of ranges is bounded by
 * the datagram that carried them. Throws `WireError` (`LENGTH_MISMATCH`, `BAD_VALUE`).
 */
export function decodeAckRanges(payload: Uint8Array): AckRange[] {
  if (payload.length % ACK_RANGE_SIZE !== 0) {
    throw new WireError(
      'LENGTH_MISMATCH',
      `ACK payload of ${payload.length} octets is not a list of 4-octet ranges`,
    );
  }
  const out: AckRange[] = [];
  for (let at = 0; at < payload.length; at += ACK_RANGE_SIZE) {
    const count = readU16(payload, at + 2);
    if (count === 0 || count > MAX_ACK_RANGE_COUNT) {
      throw new WireError('BAD_VALUE', `ACK range count ${count} is outside 1..${MAX_ACK_RANGE_COUNT}`);
    }
    out.push({ first: readU16(payload, at), count });
  }
  return out;
}

/** Most ranges one piggybacked ACK trailer carries: its count is one octet. */
export const MAX_ACK_TRAILER_RANGES = 0xff;

/** Octets of an ACK trailer of `count` ranges: the ranges, then the one-octet count. */
export function ackTrailerSize(count: number): number {
  return count * ACK_RANGE_SIZE + 1;
}

/** A data fragment's payload with a piggybacked ACK (profile v2, spec §5.2): its own octets and the ranges. */
export interface AckTrailer {
  /** The fragment's own payload (a piece of a message), the trailer removed; a view, not a copy. */
  readonly data: Uint8Array;
  /** What the fragment acknowledges; the first range's first number plays a bare ACK's header number. */
  readonly ranges: AckRange[];
}

/**
 * Writes the trailer of a piggybacked ACK at `offset` of `target`: `count` ranges (u16 first, u16 count) and
 * then `count` itself in one octet, so the receiver finds it from the datagram's end. Returns the octets written.
 * Throws `WireError` (`INVALID_FIELD`, `TOO_LARGE`).
 */
export function encodeAckTrailer(ranges: readonly AckRange[], target: Uint8Array, offset: number): number {
  if (ranges.length === 0 || ranges.length > MAX_ACK_TRAILER_RANGES) {
    throw new WireError(
      'INVALID_FIELD',
      `an ACK trailer carries 1..${MAX_ACK_TRAILER_RANGES} ranges, got ${ranges.length}`,
    );
  }
  const size = ackTrailerSize(ranges.length);
  if (offset + size > target.length) {
    throw new WireError(
      'TOO_LARGE',
      `ACK trailer needs ${size} octets at ${offset}, the buffer has ${target.length}`,
    );
  }
  encodeAckRanges(ranges, target, offset);
  target[offset + size - 1] = ranges.length;
  return size;
}

/**
 * Splits the payload of a fragment that carries a piggybacked ACK (flags `ACK` with `REL` or `LFR`) into its own
 * octets and the acknowledged ranges. Throws `WireError` (`TRUNCATED`, `BAD_VALUE`) and nothing else.
 */
export function decodeAckTrailer(payload: Uint8Array): AckTrailer {
  const length = payload.length;
  if (length === 0) throw new WireError('TRUNCATED', 'piggybacked ACK without its trailer');
  const count = payload[length - 1] as number;
  if (count === 0) throw new WireError('BAD_VALUE', 'ACK trailer with 0 ranges');
  const size = ackTrailerSize(count);
  if (size > length) {
    throw new WireError(
      'TRUNCATED',
      `ACK trailer of ${count} ranges needs ${size} octets, the payload has ${length}`,
    );
  }
  const start = length - size;
  return {
    data: payload.subarray(0, start),
    ranges: decodeAckRanges(payload.subarray(start, length - 1)),
  };
}
