import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseDigestAuthorization } from '../src/registrar/authorization.js';
import { AuthFailureLimiter } from '../src/registrar/auth-limiter.js';
import { NonceIssuer } from '../src/registrar/nonces.js';
import { RANDOM_POOL_OCTETS, RandomPool } from '../src/sip/random-pool.js';
import { localTag } from '../src/sip/tags.js';

describe('Digest Authorization header', () => {
  it('reads the parameters of a typical SIP client header', () => {
    const header =
      'Digest username="alice", realm="localhost", nonce="abc", uri="sip:localhost", ' +
      'response="6629fae49393a05397450978507c4ef1", algorithm=SHA-256, qop=auth, nc=00000001, cnonce="0a4f113b"';
    expect(parseDigestAuthorization(header)).toEqual({
      username: 'alice',
      realm: 'localhost',
      nonce: 'abc',
      uri: 'sip:localhost',
      response: '6629fae49393a05397450978507c4ef1',
      algorithm: 'SHA-256',
      qop: 'auth',
      nc: '00000001',
      cnonce: '0a4f113b',
    });
  });

  it('unescapes quoted pairs and accepts any case for the scheme and names', () => {
    const parsed = parseDigestAuthorization('digest USERNAME="a\\"b", Realm=r, nonce=n, uri="u", response=x');
    expect(parsed).toMatchObject({ username: 'a"b', realm: 'r', nonce: 'n', uri: 'u', response: 'x' });
  });

  it.each([
    ['Basic YWxpY2U6cGFzcw=='],
    ['Digest username="alice"'],
    ['Digest username="alice, realm=x, nonce=n, uri=u, response=r'],
    ['Digest username="a", username="b", realm=x, nonce=n, uri=u, response=r'],
    ['Digest username="a" realm=x, nonce=n, uri=u, response=r'],
    [`Digest username="${'a'.repeat(5000)}", realm=x, nonce=n, uri=u, response=r`],
  ])('refuses %s', (header) => {
    expect(parseDigestAuthorization(header)).toBeUndefined();
  });

  it('never throws on arbitrary input', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          fc.string().map((s) => `Digest ${s}`),
        ),
        (s) => {
          parseDigestAuthorization(s);
        },
      ),
      { numRuns: 5000 },
    );
  });
});

describe('nonces', () => {
  it('accepts a fresh nonce once per increasing count and refuses replays', () => {
    const issuer = new NonceIssuer();
    const nonce = issuer.issue();
    expect(issuer.verify(nonce, '00000001')).toBe('ok');
    expect(issuer.verify(nonce, '00000001')).toBe('replayed');
    expect(issuer.verify(nonce, '00000002')).toBe('ok');
    expect(issuer.verify(nonce, '00000002')).toBe('replayed');
  });

  it('issues distinct nonces at one instant, across refills of its salt pool, each accepted once', () => {
    const issuer = new NonceIssuer({ now: () => 5_000 });
    const nonces = Array.from({ length: 2_000 }, () => issuer.issue());
    expect(new Set(nonces).size).toBe(nonces.length);
    for (const nonce of nonces) expect(issuer.verify(nonce, '00000001')).toBe('ok');
    expect(issuer.verify(nonces[1_999]!, '00000001')).toBe('replayed');
  });

  it('draws To tags from the random pool: 48-bit hex, distinct across refills', () => {
    const tags = Array.from({ length: 2_000 }, () => localTag());
    for (const tag of tags) expect(tag).toMatch(/^[0-9a-f]{12}$/);
    expect(new Set(tags).size).toBe(tags.length);
    const pool = new RandomPool();
    const target = new Uint8Array(RANDOM_POOL_OCTETS + 2);
    pool.fill(target, 1, RANDOM_POOL_OCTETS);
    expect(target[0]).toBe(0);
    expect(target[RANDOM_POOL_OCTETS + 1]).toBe(0);
    expect(new Set(target.subarray(1, RANDOM_POOL_OCTETS + 1)).size).toBeGreaterThan(200);
  });

  it('calls an expired nonce stale and a forged or foreign one invalid', () => {
    let now = 1_000_000;
    const issuer = new NonceIssuer({ now: () => now, lifetime: 300_000 });
    const nonce = issuer.issue();
    now += 300_001;
    expect(issuer.verify(nonce, '00000001')).toBe('stale');
    expect(new NonceIssuer().verify(nonce, '00000001')).toBe('invalid');
    const tampered = `${nonce.slice(0, -2)}${nonce.endsWith('AA') ? 'AB' : 'AA'}`;
    expect(issuer.verify(tampered, '00000001')).toBe('invalid');
    expect(issuer.verify('not-a-nonce', '00000001')).toBe('invalid');
    expect(issuer.verify(issuer.issue(), 'zz')).toBe('invalid');
  });

  it('bounds the replay table and never takes a forgotten nonce for a fresh one', () => {
    let now = 0;
    const issuer = new NonceIssuer({ now: () => now, maxTracked: 10 });
    const old = issuer.issue();
    expect(issuer.verify(old, '00000001')).toBe('ok');
    for (let i = 0; i < 50; i++) {
      now += 1;
      expect(issuer.verify(issuer.issue(), '00000001')).toBe('ok');
    }
    expect(issuer.tracked).toBe(10);
    expect(issuer.verify(old, '00000001')).toBe('stale');
    now += 1;
    expect(issuer.verify(issuer.issue(), '00000001')).toBe('ok');
  });
});

describe('nonces bound to an address, counts recorded after the response verifies', () => {
  it('accepts a bound nonce only from the address it was issued to', () => {
    const issuer = new NonceIssuer();
    const nonce = issuer.issue('192.0.2.1');
    expect(issuer.check(nonce, '00000001', '192.0.2.2')).toBe('invalid');
    expect(issuer.check(nonce, '00000001')).toBe('invalid');
    expect(issuer.check(nonce, '00000001', '192.0.2.1')).toBe('ok');
  });

  it('check records nothing; record refuses a count recorded first by a concurrent request', () => {
    const issuer = new NonceIssuer();
    const nonce = issuer.issue('192.0.2.1');
    expect(issuer.check(nonce, '00000001', '192.0.2.1')).toBe('ok');
    expect(issuer.check(nonce, '00000001', '192.0.2.1')).toBe('ok');
    expect(issuer.tracked).toBe(0);
    expect(issuer.record(nonce, '00000001')).toBe('ok');
    expect(issuer.record(nonce, '00000001')).toBe('replayed');
    expect(issuer.check(nonce, '00000001', '192.0.2.1')).toBe('replayed');
  });
});

describe('failed-answer back-off per (AOR, address)', () => {
  it('makes a pair wait after its free failures, doubling up to the cap, and never another pair', () => {
    const limiter = new AuthFailureLimiter({ freeFailures: 2, backoffMs: 100, maxBackoffMs: 350 });
    limiter.failed('sip:a@x', '192.0.2.1', 0);
    limiter.failed('sip:a@x', '192.0.2.1', 0);
    expect(limiter.waitMs('sip:a@x', '192.0.2.1', 0)).toBe(0);
    limiter.failed('sip:a@x', '192.0.2.1', 0);
    expect(limiter.waitMs('sip:a@x', '192.0.2.1', 0)).toBe(100);
    limiter.failed('sip:a@x', '192.0.2.1', 100);
    expect(limiter.waitMs('sip:a@x', '192.0.2.1', 100)).toBe(200);
    limiter.failed('sip:a@x', '192.0.2.1', 300);
    expect(limiter.waitMs('sip:a@x', '192.0.2.1', 300)).toBe(350);
    expect(limiter.waitMs('sip:a@x', '192.0.2.2', 300)).toBe(0);
    expect(limiter.waitMs('sip:b@x', '192.0.2.1', 300)).toBe(0);
    limiter.succeeded('sip:a@x', '192.0.2.1');
    expect(limiter.waitMs('sip:a@x', '192.0.2.1', 300)).toBe(0);
  });

  it('forgets quiet pairs and stays within its bound', () => {
    const limiter = new AuthFailureLimiter({ freeFailures: 0, forgetAfterMs: 1_000, maxPairs: 10 });
    limiter.failed('sip:a@x', '192.0.2.1', 0);
    expect(limiter.waitMs('sip:a@x', '192.0.2.1', 500)).toBeGreaterThan(0);
    expect(limiter.waitMs('sip:a@x', '192.0.2.1', 1_001)).toBe(0);
    for (let i = 0; i < 50; i++) limiter.failed(`sip:u${i}@x`, '192.0.2.1', 2_000);
    expect(limiter.size).toBe(10);
  });
});
