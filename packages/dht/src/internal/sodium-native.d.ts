// The libsodium calls this package makes, typed for typed arrays (sodium-native ships no types of its own, and
// @types/sodium-native describes its 2.x API with Buffer only).
declare module 'sodium-native' {
  /** True when `signature` (64) is `publicKey`'s (32, raw) Ed25519 signature over `message`; never throws on a bad one. */
  export function crypto_sign_verify_detached(
    signature: Uint8Array,
    message: Uint8Array,
    publicKey: Uint8Array,
  ): boolean;
  /** Writes the Ed25519 signature (64) of `message` with `secretKey` (64: seed ‖ public key). */
  export function crypto_sign_detached(
    signature: Uint8Array,
    message: Uint8Array,
    secretKey: Uint8Array,
  ): void;
  /** Derives the key pair of a 32-octet seed: `publicKey` (32) and `secretKey` (64). */
  export function crypto_sign_seed_keypair(
    publicKey: Uint8Array,
    secretKey: Uint8Array,
    seed: Uint8Array,
  ): void;
  /** A buffer in guarded memory, zeroed when freed (for secret keys). */
  export function sodium_malloc(size: number): Uint8Array;
}
