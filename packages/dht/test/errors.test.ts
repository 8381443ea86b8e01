import { describe, expect, it } from 'vitest';
import { DHT_ERROR_STATUS, DhtError } from '@xpp/dht';

/** An error whose name matches but whose code is not a DhtError code. */
class ErrorCodeShim extends Error {
  override readonly name = 'DhtError';
  readonly code = 'TRUNCATED';
}

describe('DhtError', () => {
  it('is recognised by name and code, across copies of the class', () => {
    const error = new DhtError('STORE_FULL', 'full');
    expect(DhtError.is(error)).toBe(true);
    expect(error.status).toBe(503);
    const copy = Object.assign(new Error('full'), { name: 'DhtError', code: 'STORE_FULL' });
    expect(DhtError.is(copy)).toBe(true);
    expect(DhtError.is(Object.assign(new Error('x'), { name: 'DhtError', code: 'NOPE' }))).toBe(false);
    expect(DhtError.is({ name: 'DhtError', code: 'STORE_FULL' })).toBe(false);
    expect(DhtError.is(new ErrorCodeShim())).toBe(false);
  });

  it('maps every code to an XPP error code of spec §3 or SIP 483', () => {
    for (const status of Object.values(DHT_ERROR_STATUS)) {
      expect([400, 403, 409, 413, 480, 483, 500, 503]).toContain(status);
    }
  });
});

describe('systemClock', () => {
  it('reads wall-clock milliseconds that do not go backwards', async () => {
    const { systemClock } = await import('@xpp/dht');
    const first = systemClock.now();
    expect(Math.abs(first - Date.now())).toBeLessThan(60_000);
    let last = first;
    for (let i = 0; i < 1000; i++) {
      const next = systemClock.now();
      expect(next).toBeGreaterThanOrEqual(last);
      last = next;
    }
  });
});
