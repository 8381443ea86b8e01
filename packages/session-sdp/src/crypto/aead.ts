import sodium from 'sodium-native';

/**
 * The ChaCha20-Poly1305 (RFC 8439) primitive under {@link SessionCipher}, detached: ciphertext and tag in caller
 * memory. One object, so the package's benchmark can put `node:crypto` behind it to measure both in one run
 * (bench/node-crypto-aead.ts); nothing in the package replaces it.
 */
export interface Aead {
  /** Writes the ciphertext of `m` into `c` (same length; may be `m` itself) and the 16-octet tag into `mac`. */
  seal(
    c: Uint8Array,
    mac: Uint8Array,
    m: Uint8Array,
    ad: Uint8Array,
    nonce: Uint8Array,
    key: Uint8Array,
  ): void;
  /**
   * Verifies `mac` over `c` and `ad`, then writes the plaintext into `m` (same length; may be `c` itself).
   * Returns `false`, having written nothing usable, when the tag does not verify.
   */
  open(
    m: Uint8Array,
    c: Uint8Array,
    mac: Uint8Array,
    ad: Uint8Array,
    nonce: Uint8Array,
    key: Uint8Array,
  ): boolean;
}

/** libsodium's: no per-call context to build, which is most of what `node:crypto`'s AEAD costs per datagram. */
export const aead: Aead = {
  seal(c, mac, m, ad, nonce, key) {
    sodium.crypto_aead_chacha20poly1305_ietf_encrypt_detached(c, mac, m, ad, null, nonce, key);
  },
  open(m, c, mac, ad, nonce, key) {
    try {
      sodium.crypto_aead_chacha20poly1305_ietf_decrypt_detached(m, null, c, mac, ad, nonce, key);
      return true;
    } catch {
      // sodium-native throws on a tag that does not verify; libsodium has zeroed `m` by then.
      return false;
    }
  },
};
