import { generateKeyPairSync, randomBytes, sign, verify } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { signEd25519 } from '../src/internal/ed25519.js';

// Signing moved to libsodium (issue #19 item 3: one ORIGIN signature per REGISTER). Ed25519 is deterministic, so
// the octets must be exactly node:crypto's, for every key and message.
describe('signEd25519 through libsodium', () => {
  it('gives node:crypto’s exact signature, key after key, and it verifies', () => {
    for (let k = 0; k < 8; k++) {
      const { privateKey, publicKey } = generateKeyPairSync('ed25519');
      for (const size of [0, 1, 64, 1200]) {
        const message = new Uint8Array(randomBytes(size));
        const ours = signEd25519(privateKey, message);
        expect(Buffer.from(ours)).toEqual(sign(null, message, privateKey));
        expect(verify(null, message, publicKey, ours)).toBe(true);
      }
    }
  });
});
