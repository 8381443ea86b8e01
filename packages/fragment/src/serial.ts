/**
 * RFC 1982 serial-number arithmetic on the 16-bit sequence numbers of spec §2. Two numbers are comparable only
 * when they are less than half the space (32768) apart; that is why every window stays below it.
 */

/** Size of the sequence space. */
export const SEQ_MODULO = 0x10000;
/** Half the space: no window may reach it, or order becomes undefined. */
export const SEQ_HALF = 0x8000;

/** `seq + n` modulo 2^16. */
export function seqAdd(seq: number, n: number): number {
  return (seq + n) & 0xffff;
}

/**
 * The signed distance from `from` to `to` in [-32768, 32767]: positive when `to` is after `from`.
 * At exactly half the space the order is undefined by RFC 1982; this returns -32768 ("not after").
 */
export function seqDiff(to: number, from: number): number {
  const d = (to - from) & 0xffff;
  return d >= SEQ_HALF ? d - SEQ_MODULO : d;
}

/** True when `a` comes strictly before `b` (RFC 1982 §3.2). */
export function seqLess(a: number, b: number): boolean {
  return seqDiff(b, a) > 0;
}

/** True when `seq` is in the half-open window [start, start + size) of the sequence space. */
export function seqInWindow(seq: number, start: number, size: number): boolean {
  return ((seq - start) & 0xffff) < size;
}
