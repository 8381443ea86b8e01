import { createPublicKey, diffieHellman, generateKeyPairSync, hkdfSync } from 'node:crypto';
import fc from 'fast-check';
import { Flag, encodeFragmentHeader } from '@xpp/wire';
import { describe, expect, it } from 'vitest';
import { ReplayWindow } from '../src/crypto/replay-window.js';
import {
  SEAL_OVERHEAD,
  SessionCipher,
  deriveDirectionalKeys,
  generateXppKeyPair,
  type XppKeyPair,
} from '@xpp/session-sdp';

function header(seq: number, flags = Flag.REL | Flag.LFR): Uint8Array {
  const bytes = new Uint8Array(8);
  encodeFragmentHeader({ flags, seq, localId: 0xaaaa, remoteId: 0xbbbb }, bytes);
  return bytes;
}

function pair(): { alice: SessionCipher; bob: SessionCipher; a: XppKeyPair; b: XppKeyPair } {
  const a = generateXppKeyPair();
  const b = generateXppKeyPair();
  const aliceKeys = deriveDirectionalKeys({
    local: a,
    localLtag: 0xaaaa,
    remotePublicKey: b.publicKey,
    remoteLtag: 0xbbbb,
  });
  const bobKeys = deriveDirectionalKeys({
    local: b,
    localLtag: 0xbbbb,
    remotePublicKey: a.publicKey,
    remoteLtag: 0xaaaa,
  });
  return { alice: new SessionCipher(aliceKeys), bob: new SessionCipher(bobKeys), a, b };
}

const text = (s: string) => new TextEncoder().encode(s);

describe('key agreement', () => {
  it('derives mirrored, distinct keys per direction', () => {
    const a = generateXppKeyPair();
    const b = generateXppKeyPair();
    expect(a.publicKey).toHaveLength(32);
    const ak = deriveDirectionalKeys({ local: a, localLtag: 1, remotePublicKey: b.publicKey, remoteLtag: 2 });
    const bk = deriveDirectionalKeys({ local: b, localLtag: 2, remotePublicKey: a.publicKey, remoteLtag: 1 });
    expect(ak.send).toEqual(bk.receive);
    expect(ak.receive).toEqual(bk.send);
    expect(ak.send).not.toEqual(ak.receive);
    // Other ltags give other keys: the ltags are bound into the info.
    const other = deriveDirectionalKeys({
      local: a,
      localLtag: 1,
      remotePublicKey: b.publicKey,
      remoteLtag: 3,
    });
    expect(other.send).not.toEqual(ak.send);
  });

  it('matches an independent X25519 + HKDF computation', () => {
    const a = generateXppKeyPair();
    const b = generateKeyPairSync('x25519');
    const bPublic = new Uint8Array(Buffer.from(b.publicKey.export({ format: 'jwk' }).x!, 'base64url'));
    const shared = diffieHellman({ privateKey: b.privateKey, publicKey: createPublicKey(a.privateKey) });
    const info = Buffer.concat([
      Buffer.from('xpp-v1 chacha20-poly1305'),
      Buffer.from([0x00, 0x01, 0x00, 0x02]),
      a.publicKey,
      bPublic,
    ]);
    const expected = new Uint8Array(hkdfSync('sha256', shared, new Uint8Array(0), info, 32));
    const keys = deriveDirectionalKeys({ local: a, localLtag: 1, remotePublicKey: bPublic, remoteLtag: 2 });
    expect(keys.send).toEqual(expected);
  });

  it('refuses bad peer keys', () => {
    const a = generateXppKeyPair();
    const code = { code: 'INVALID_ARGUMENT' };
    expect(() =>
      deriveDirectionalKeys({ local: a, localLtag: 1, remotePublicKey: new Uint8Array(31), remoteLtag: 2 }),
    ).toThrow(expect.objectContaining(code));
    // The all-zero point is of low order: the shared secret would be zero.
    expect(() =>
      deriveDirectionalKeys({ local: a, localLtag: 1, remotePublicKey: new Uint8Array(32), remoteLtag: 2 }),
    ).toThrow(expect.objectContaining(code));
  });
});

describe('SessionCipher', () => {
  it('seals counter ‖ ciphertext ‖ tag and opens it', () => {
    const { alice, bob } = pair();
    const h = header(7);
    const sealed = alice.seal(h, text('hello'));
    expect(sealed).toHaveLength(5 + SEAL_OVERHEAD);
    expect(Array.from(sealed.subarray(0, 8))).toEqual([0, 0, 0, 0, 0, 0, 0, 0]);
    expect(Buffer.from(sealed.subarray(8, 13)).toString()).not.toBe('hello');
    const opened = bob.open(h, sealed);
    expect(opened.ok && new TextDecoder().decode(opened.plaintext)).toBe('hello');
    expect(Array.from(alice.seal(h, text('')).subarray(0, 8))).toEqual([0, 0, 0, 0, 0, 0, 0, 1]);
  });

  it('authenticates the header: a changed flag, seq or ltag fails and changes nothing', () => {
    const { alice, bob } = pair();
    const h = header(7);
    const sealed = alice.seal(h, text('payload'));
    for (const forged of [
      header(8),
      header(7, Flag.ACK),
      Uint8Array.from([...h.subarray(0, 4), 0xaa, 0xab, 0xbb, 0xbb]),
    ]) {
      expect(bob.open(forged, sealed)).toEqual({ ok: false, reason: 'AUTH_FAILED' });
    }
    const flipped = Uint8Array.from(sealed);
    flipped[9]! ^= 1;
    expect(bob.open(h, flipped)).toEqual({ ok: false, reason: 'AUTH_FAILED' });
    const wrongKey = pair().bob;
    expect(wrongKey.open(h, sealed)).toMatchObject({ ok: false, reason: 'AUTH_FAILED' });
    // None of the failures consumed counter 0: the genuine fragment still opens.
    expect(bob.open(h, sealed).ok).toBe(true);
    expect(bob.stats).toMatchObject({ authFailed: 4, opened: 1 });
  });

  it('drops replays, accepts reordering within the window', () => {
    const { alice, bob } = pair();
    const sealed = [0, 1, 2, 3].map((i) => alice.seal(header(i), text(`m${i}`)));
    expect(bob.open(header(2), sealed[2]!).ok).toBe(true);
    expect(bob.open(header(0), sealed[0]!).ok).toBe(true);
    expect(bob.open(header(2), sealed[2]!)).toEqual({ ok: false, reason: 'REPLAYED' });
    expect(bob.open(header(3), sealed[3]!).ok).toBe(true);
    expect(bob.open(header(1), sealed[1]!).ok).toBe(true);
    expect(bob.open(header(1), sealed[1]!)).toEqual({ ok: false, reason: 'REPLAYED' });
    expect(bob.open(header(1), new Uint8Array(23))).toEqual({ ok: false, reason: 'TRUNCATED' });
  });

  it('never throws and never opens random input', () => {
    const { bob } = pair();
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 8, maxLength: 8 }),
        fc.uint8Array({ maxLength: 300 }),
        (h, payload) => {
          expect(bob.open(h, payload).ok).toBe(false);
        },
      ),
      { numRuns: 500 },
    );
    expect(bob.stats.opened).toBe(0);
  });

  it('refuses headers of the wrong size when sealing', () => {
    expect(() => pair().alice.seal(new Uint8Array(7), text('x'))).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    );
  });
});

describe('ReplayWindow', () => {
  it('matches a reference set model', () => {
    fc.assert(
      fc.property(fc.array(fc.nat(3000), { maxLength: 300 }), (counters) => {
        const window = new ReplayWindow(64);
        const seen = new Set<number>();
        let top = -1;
        for (const c of counters) {
          const expected = !seen.has(c) && c > top - 64;
          expect(window.accept(c)).toBe(expected);
          if (expected) {
            seen.add(c);
            top = Math.max(top, c);
          }
        }
      }),
    );
  });

  it('bounds its width', () => {
    expect(() => new ReplayWindow(33)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    expect(() => new ReplayWindow(1 << 20)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
  });
});
