import { createPublicKey } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { generateXppKeyPair } from '../src/crypto/keys.js';

describe('generateXppKeyPair', () => {
  it('gives the public key of its private key, a fresh pair each call', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 50; i++) {
      const pair = generateXppKeyPair();
      // SPKI DER of an X25519 key: a 12-octet header, then the 32 raw octets.
      const spki = createPublicKey(pair.privateKey).export({ format: 'der', type: 'spki' });
      expect(Buffer.from(pair.publicKey).equals(spki.subarray(spki.length - 32))).toBe(true);
      seen.add(Buffer.from(pair.publicKey).toString('hex'));
    }
    expect(seen.size).toBe(50);
  });
});
