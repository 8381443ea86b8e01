/** Slab size: small enough that a datagram kept for retransmission pins little else (Node's own pool: 8 KiB). */
const SLAB = 8 * 1024;

/**
 * An allocator of plain `Uint8Array` views carved from shared 8 KiB slabs, as `Buffer.allocUnsafe` does for
 * small sizes, but without `Buffer`'s subclass (whose `subarray` costs a JavaScript constructor call per view).
 * Memory is not zeroed: callers overwrite all of it. Larger requests get their own buffer. A slab is never reused
 * once full, so a view handed to a socket queue is not overwritten by a later one. The first slab is made at the
 * first small request: an allocator that is never used (a session that sends nothing sealed) costs no 8 KiB.
 */
export function pooledAllocator(): (size: number) => Uint8Array {
  let slab: ArrayBuffer | undefined;
  let used = 0;
  return (size) => {
    if (size > SLAB >>> 2) return new Uint8Array(size);
    if (slab === undefined || used + size > SLAB) {
      slab = new ArrayBuffer(SLAB);
      used = 0;
    }
    const view = new Uint8Array(slab, used, size);
    used = (used + size + 7) & ~7;
    return view;
  };
}
