import { WireError } from '../errors.js';
import { pooledAllocator } from '../pooled-allocator.js';

// Hand-rolled big-endian accessors: on the hot path they beat a DataView per datagram and need no allocation.

export function readU16(b: Uint8Array, at: number): number {
  return ((b[at] as number) << 8) | (b[at + 1] as number);
}

export function readU32(b: Uint8Array, at: number): number {
  return (
    (b[at] as number) * 0x1000000 +
    (((b[at + 1] as number) << 16) | ((b[at + 2] as number) << 8) | (b[at + 3] as number))
  );
}

export function writeU16(b: Uint8Array, at: number, v: number): void {
  b[at] = v >>> 8;
  b[at + 1] = v;
}

export function writeU32(b: Uint8Array, at: number, v: number): void {
  b[at] = v >>> 24;
  b[at + 1] = v >>> 16;
  b[at + 2] = v >>> 8;
  b[at + 3] = v;
}

/** Throws `INVALID_FIELD` unless `v` is an integer in [0, max]. */
export function checkUint(v: number, max: number, field: string): void {
  if (!Number.isInteger(v) || v < 0 || v > max) {
    throw new WireError('INVALID_FIELD', `${field} must be an integer in 0..${max}, got ${String(v)}`);
  }
}

// V8 keeps a typed array of 64 octets or less on its heap; a larger `new Uint8Array` gets its own off-heap
// backing store, which costs more than the encoding itself and is freed by GC work whose cost swings with the
// machine's load (bench/RESULTS.md). Larger encodings are therefore carved from shared slabs, as Buffer does.
const ON_HEAP_MAX = 64;
const allocate = pooledAllocator();

/**
 * The buffer to encode into: the caller's (checked for room), or else a fresh view of exactly `size` octets,
 * which may share its `ArrayBuffer` with other encodings (never overlapping them). Callers write every octet.
 */
export function targetFor(
  size: number,
  target: Uint8Array | undefined,
  offset: number,
  what: string,
): Uint8Array {
  if (target === undefined) {
    // the fresh view is exactly `size` octets: writing at an offset into it would return a truncated encoding
    if (offset !== 0) throw new WireError('INVALID_FIELD', `${what} offset ${offset} given without a target`);
    return size <= ON_HEAP_MAX ? new Uint8Array(size) : allocate(size);
  }
  if (!Number.isInteger(offset) || offset < 0 || offset + size > target.length) {
    throw new WireError(
      'TOO_LARGE',
      `${what} needs ${size} octets at offset ${offset}, the buffer has ${target.length}`,
    );
  }
  return target;
}
