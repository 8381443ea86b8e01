// The few libsodium calls this package makes, typed for typed arrays (sodium-native ships no types of its own,
// and @types/sodium-native describes its 2.x API with Buffer only).
declare module 'sodium-native' {
  /** Writes ciphertext into `c` (same length as `m`, may be `m` itself) and the 16-octet tag into `mac`. */
  export function crypto_aead_chacha20poly1305_ietf_encrypt_detached(
    c: Uint8Array,
    mac: Uint8Array,
    m: Uint8Array,
    ad: Uint8Array | null,
    nsec: null,
    npub: Uint8Array,
    k: Uint8Array,
  ): number;
  /** Verifies `mac` first and only then writes plaintext into `m` (may be `c` itself); throws when it fails. */
  export function crypto_aead_chacha20poly1305_ietf_decrypt_detached(
    m: Uint8Array,
    nsec: null,
    c: Uint8Array,
    mac: Uint8Array,
    ad: Uint8Array | null,
    npub: Uint8Array,
    k: Uint8Array,
  ): void;
  /** Fills `buf` with random octets. */
  export function randombytes_buf(buf: Uint8Array): void;
  /** X25519: the public key `q` (32 octets) of the secret scalar `n` (32 octets, clamped as RFC 7748 says). */
  export function crypto_scalarmult_base(q: Uint8Array, n: Uint8Array): void;
}
