// The AEAD this package used before libsodium (node:crypto, a new Cipheriv per datagram), put behind the same
// `aead` object so one benchmark run measures both. Bench-only: the package never swaps its AEAD.
import { createCipheriv, createDecipheriv } from 'node:crypto';
import { aead, type Aead } from '../src/crypto/aead.js';

const TAG = 16;

export const nodeCryptoAead: Aead = {
  seal(c, mac, m, ad, nonce, key) {
    const cipher = createCipheriv('chacha20-poly1305', key, nonce, { authTagLength: TAG });
    cipher.setAAD(ad, { plaintextLength: m.length });
    const encrypted = cipher.update(m);
    cipher.final();
    c.set(encrypted);
    mac.set(cipher.getAuthTag());
  },
  open(m, c, mac, ad, nonce, key) {
    try {
      const decipher = createDecipheriv('chacha20-poly1305', key, nonce, { authTagLength: TAG });
      decipher.setAAD(ad, { plaintextLength: c.length });
      decipher.setAuthTag(mac);
      const plaintext = decipher.update(c);
      decipher.final();
      m.set(plaintext);
      return true;
    } catch {
      return false;
    }
  },
};

export type AeadName = 'node-crypto' | 'sodium';
const sodiumAead: Aead = { ...aead };

/** Puts `name`'s AEAD under every SessionCipher of this process. */
export function useAead(name: AeadName): void {
  Object.assign(aead, name === 'sodium' ? sodiumAead : nodeCryptoAead);
}
