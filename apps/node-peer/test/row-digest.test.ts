import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { rowDigest } from '../src/store/row-digest.js';

/** The digest as schema v3 defined it, one hash update per length-prefixed field: files written by it must load. */
function reference(
  kind: number,
  key: string,
  subkey: string,
  value: Uint8Array,
  expiresAt: number | null,
  writer: string | null,
): string {
  const hash = createHash('sha256');
  const field = (octets: Uint8Array): void => {
    const length = Buffer.alloc(4);
    length.writeUInt32BE(octets.length);
    hash.update(length).update(octets);
  };
  field(Buffer.from(`xpp-row v1\0${kind}\0${expiresAt ?? 'none'}`));
  field(Buffer.from(key));
  field(Buffer.from(subkey));
  field(value);
  field(Buffer.from(writer ?? '\0'));
  return hash.digest().subarray(0, 16).toString('hex');
}

describe('rowDigest', () => {
  it('keeps the octets of schema v3 (vectors)', () => {
    const value = new Uint8Array([1, 2, 3, 250]);
    expect(
      rowDigest(1, 'sip:alice@example.org', 'instance x 1', value, 1767225600000, 'ab12').toString('hex'),
    ).toBe('874b23ef9d09634ce0e2d51c5f943478');
    expect(rowDigest(2, 'sip:bob@ex.org', '', new Uint8Array(), null, null).toString('hex')).toBe(
      '3ab9cc0fbd491089128ed7274a7f6d03',
    );
    // Non-ASCII text and a value larger than the first scratch buffer.
    expect(rowDigest(1, 'sip:ü@ex.org', 'ß', new Uint8Array(3000).fill(7), 5, 'w').toString('hex')).toBe(
      '4e41190dd60e21cc79e7a64c2e7a003a',
    );
  });

  it('equals the field-by-field definition for any row, large ones after small ones', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 255 }),
        fc.string({ unit: 'grapheme', maxLength: 300 }),
        fc.string({ unit: 'binary', maxLength: 80 }),
        fc.uint8Array({ maxLength: 20_000 }),
        fc.option(fc.integer({ min: 0, max: 2 ** 52 })),
        fc.option(fc.string({ maxLength: 70 })),
        (kind, key, subkey, value, expiresAt, writer) => {
          const digest = rowDigest(kind, key, subkey, value, expiresAt, writer);
          expect(digest.length).toBe(16);
          expect(digest.toString('hex')).toBe(reference(kind, key, subkey, value, expiresAt, writer));
        },
      ),
      { numRuns: 300 },
    );
  });
});
