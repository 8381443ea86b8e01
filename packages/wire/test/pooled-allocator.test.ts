import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { pooledAllocator } from '@xpp/wire';

describe('pooledAllocator', () => {
  it('hands out views of exactly the size asked for that never overlap while alive', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 5000 }), { maxLength: 200 }), (sizes) => {
        const allocate = pooledAllocator();
        const views = sizes.map((size, i) => {
          const view = allocate(size);
          expect(view.length).toBe(size);
          view.fill(i & 0xff);
          return view;
        });
        views.forEach((view, i) => expect(view.every((b) => b === (i & 0xff))).toBe(true));
      }),
      { numRuns: 100 },
    );
  });

  it('gives large sizes their own buffer and small ones a shared slab', () => {
    const allocate = pooledAllocator();
    const small = [allocate(1200), allocate(1200)];
    expect(small[0]!.buffer).toBe(small[1]!.buffer);
    expect(allocate(4000).byteLength).toBe(4000);
    expect(allocate(4000).buffer.byteLength).toBe(4000);
  });
});
