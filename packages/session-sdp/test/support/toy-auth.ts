// A toy SessionAuthenticator for tests and the bench: Ed25519 identities made here, trusted by a list of their
// public keys. The overlay's real one (certificates) lives in @xpp/dht; session-sdp only needs sign/verify hooks.
import { createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import type { SessionAuthenticator } from '@xpp/session-sdp';

export interface ToyIdentity {
  readonly name: string;
  readonly publicKey: Uint8Array;
  readonly privateKey: KeyObject;
}

export function toyIdentity(name: string): ToyIdentity {
  const pair = generateKeyPairSync('ed25519');
  const jwk = pair.publicKey.export({ format: 'jwk' });
  return {
    name,
    publicKey: new Uint8Array(Buffer.from(jwk.x ?? '', 'base64url')),
    privateKey: pair.privateKey,
  };
}

const hex = (octets: Uint8Array) => Buffer.from(octets).toString('hex');

const rawKey = (publicKey: Uint8Array) =>
  createPublicKey({
    key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(publicKey).toString('base64url') },
    format: 'jwk',
  });

export interface ToyAuthOptions {
  /**
   * Certificate-like: the blob carries `admin`'s signature over the signer's public key, and `verify` checks it
   * (two Ed25519 verifications, as the overlay's certificate policy makes) instead of the trusted list.
   */
  readonly admin?: ToyIdentity;
  /** Pads the blob to this many octets (e.g. a certificate's size). */
  readonly blobOctets?: number;
  /** `verify` answers after this long (an asynchronous lookup, e.g. revocation). */
  readonly verifyDelayMs?: number;
}

/**
 * Auth blob = public key (32) ‖ [admin signature over it (64)] ‖ padding ‖ Ed25519 signature over the
 * transcript (64). `verify` answers the trusted identity's name (with `admin`: the key in hex), or throws.
 */
export function toyAuthenticator(
  self: ToyIdentity,
  trusted: readonly ToyIdentity[],
  options: ToyAuthOptions = {},
): SessionAuthenticator & { verified: number } {
  const names = new Map(trusted.map((t) => [hex(t.publicKey), t.name]));
  const keys = new Map(trusted.map((t) => [hex(t.publicKey), rawKey(t.publicKey)]));
  const admin = options.admin;
  const endorsement = admin === undefined ? new Uint8Array(0) : sign(null, self.publicKey, admin.privateKey);
  const adminKey = admin === undefined ? undefined : rawKey(admin.publicKey);
  const fixed = 32 + endorsement.length + 64;
  const size = Math.max(fixed, options.blobOctets ?? fixed);
  const check = (auth: Uint8Array, transcript: Uint8Array): string => {
    if (auth.length !== size) throw new Error('auth blob of the wrong size');
    const publicKey = auth.subarray(0, 32);
    const id = hex(publicKey);
    let key = keys.get(id);
    if (adminKey !== undefined) {
      if (!verify(null, publicKey, adminKey, auth.subarray(32, 96)))
        throw new Error('not endorsed by the admin');
      key = rawKey(publicKey);
    }
    if (key === undefined) throw new Error('untrusted key');
    if (!verify(null, transcript, key, auth.subarray(size - 64))) throw new Error('bad signature');
    authenticator.verified++;
    return names.get(id) ?? id;
  };
  const authenticator = {
    verified: 0,
    sign(transcript: Uint8Array): Uint8Array {
      const signature = sign(null, transcript, self.privateKey);
      return Buffer.concat([self.publicKey, endorsement, new Uint8Array(size - fixed), signature]);
    },
    verify(auth: Uint8Array, transcript: Uint8Array): string | Promise<string> {
      const delay = options.verifyDelayMs;
      if (delay === undefined) return check(auth, transcript);
      return new Promise<string>((resolve, reject) => {
        setTimeout(() => {
          try {
            resolve(check(auth, transcript));
          } catch (error) {
            reject(error as Error);
          }
        }, delay);
      });
    },
  };
  return authenticator;
}
