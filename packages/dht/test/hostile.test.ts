import fc from 'fast-check';
import { describe, it } from 'vitest';
import { decodeEverything, hostileBytesArb } from './support/hostile.js';

describe('hostile messages', () => {
  it('meet every decoder with a value or a WireError (mutated golden vectors and random octets)', () => {
    fc.assert(
      fc.property(hostileBytesArb, (bytes) => decodeEverything(bytes) === undefined),
      { numRuns: 3000 },
    );
  });
});
