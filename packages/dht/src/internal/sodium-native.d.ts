// The one libsodium call this package makes, typed for typed arrays (sodium-native ships no types of its own, and
// @types/sodium-native describes its 2.x API with Buffer only).
declare module 'sodium-native' {
  /** True when `signature` (64) is `publicKey`'s (32, raw) Ed25519 signature over `message`; never throws on a bad one. */
  export function crypto_sign_verify_detached(
    signature: Uint8Array,
    message: Uint8Array,
    publicKey: Uint8Array,
  ): boolean;
}
