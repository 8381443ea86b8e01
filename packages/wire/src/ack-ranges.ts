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
