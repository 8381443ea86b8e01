import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CanError, MAX_AOR_LENGTH, hashKey, normaliseAor } from '@xpp/can';

describe('hashing', () => {
  it('uses a prefix of the same digest for every d', () => {
    fc.assert(
      fc.property(fc.string(), fc.integer({ min: 1, max: 8 }), (key, d) => {
        const point = hashKey(key, d);
        expect(point).toEqual(hashKey(key, 8).slice(0, d));
        expect(point.every((c) => Number.isInteger(c) && c >= 0 && c < 2 ** 32)).toBe(true);
      }),
    );
  });

  it('refuses bad dimensions', () => {
    expect(() => hashKey('x', 0)).toThrow(expect.objectContaining({ code: 'INVALID_DIMENSIONS' }));
  });

  it('normalises only scheme and host; the user part stays as written', () => {
    expect(normaliseAor('sip:Alice@EXAMPLE.com')).toBe('sip:Alice@example.com');
    expect(normaliseAor('SIPS:bob@a.b:5061;lr')).toBe('sips:bob@a.b:5061');
  });

  it('refuses what is not a SIP address-of-record', () => {
    for (const bad of [
      '',
      'alice@example.com',
      'tel:+123',
      'sip:example.com',
      'sip:@example.com',
      'sip:a@b:99999',
      `sip:${'a'.repeat(MAX_AOR_LENGTH)}@b`,
    ]) {
      expect(() => normaliseAor(bad), bad).toThrow(expect.objectContaining({ code: 'BAD_AOR' }));
    }
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (text) => {
        try {
          const once = normaliseAor(text);
          expect(normaliseAor(once)).toBe(once);
        } catch (error) {
          expect(CanError.is(error) && error.code === 'BAD_AOR').toBe(true);
        }
      }),
    );
  });
});
