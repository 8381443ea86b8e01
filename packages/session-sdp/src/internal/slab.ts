/** Slab size: a sealed 1,200-octet datagram takes 1,224, so six fit in one slab. */
const SLAB = 8 * 1024;

/**
 * Memory for sealed datagrams, carved from shared 8 KiB slabs so that sealing does not allocate per datagram.
 * A slab is never reused once full: a datagram handed to `dgram` may wait in its queue, and must not be overwritten
 * by the next one. Memory is not zeroed (the sealer writes every octet). Larger requests get their own buffer.
 * (The same scheme as `@xpp/reliability`'s internal allocator, which is not part of its public API.)
 */
export function slabAllocator(): (size: number) => Uint8Array {
  let slab = new ArrayBuffer(SLAB);
  let used = 0;
  return (size) => {
    if (size > SLAB >>> 2) return new Uint8Array(size);
    if (used + size > SLAB) {
      slab = new ArrayBuffer(SLAB);
      used = 0;
    }
    const view = new Uint8Array(slab, used, size);
    used = (used + size + 7) & ~7;
    return view;
  };
}
