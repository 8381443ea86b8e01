import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { seqAdd, seqDiff, seqInWindow, seqLess } from '@xpp/fragment';

describe('serial arithmetic (RFC 1982, 16 bits)', () => {
  it.each([
    [1, 0, 1],
    [0, 0xffff, 1],
    [0xffff, 0, -1],
    [0x7fff, 0, 0x7fff],
    [0x8000, 0, -0x8000],
    [5, 0xfff0, 21],
  ])('seqDiff(%i, %i) = %i', (to, from, expected) => {
    expect(seqDiff(to, from)).toBe(expected);
  });

  it('wraps addition at 2^16', () => {
    expect(seqAdd(0xffff, 1)).toBe(0);
    expect(seqAdd(0xfffe, 5)).toBe(3);
  });

  it('orders across the wrap and leaves exactly-half unordered', () => {
    expect(seqLess(0xfff0, 0x0010)).toBe(true);
    expect(seqLess(0x0010, 0xfff0)).toBe(false);
    expect(seqLess(0, 0x8000)).toBe(false);
    expect(seqLess(0x8000, 0)).toBe(false);
  });

  it('windows wrap around', () => {
    expect(seqInWindow(2, 0xfffe, 10)).toBe(true);
    expect(seqInWindow(8, 0xfffe, 10)).toBe(false);
    expect(seqInWindow(0xfffd, 0xfffe, 10)).toBe(false);
  });

  it('is consistent with addition for every distance below half the space', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffff }), fc.integer({ min: 1, max: 0x7fff }), (a, n) => {
        const b = seqAdd(a, n);
        expect(seqDiff(b, a)).toBe(n);
        expect(seqDiff(a, b)).toBe(-n);
        expect(seqLess(a, b)).toBe(true);
        expect(seqLess(b, a)).toBe(false);
      }),
    );
  });
});
