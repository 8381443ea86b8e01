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

/**
 * Auth blob = public key (32) ‖ padding (to `blobOctets` − 64, e.g. a certificate's size) ‖ Ed25519 signature
 * over the transcript (64). `verify` answers the trusted identity's name, or throws.
 */
export function toyAuthenticator(
  self: ToyIdentity,
  trusted: readonly ToyIdentity[],
  options: { blobOctets?: number; verifyDelayMs?: number } = {},
): SessionAuthenticator & { verified: number } {
  const names = new Map(trusted.map((t) => [hex(t.publicKey), t.name]));
  const keys = new Map(
    trusted.map((t) => [
      hex(t.publicKey),
      createPublicKey({
        key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(t.publicKey).toString('base64url') },
        format: 'jwk',
      }),
    ]),
  );
  const pad = Math.max(0, (options.blobOctets ?? 96) - 96);
  const authenticator = {
    verified: 0,
    sign(transcript: Uint8Array): Uint8Array {
      const signature = sign(null, transcript, self.privateKey);
      return Buffer.concat([self.publicKey, new Uint8Array(pad), signature]);
    },
    verify(auth: Uint8Array, transcript: Uint8Array): string | Promise<string> {
      const check = () => {
        if (auth.length !== 96 + pad) throw new Error('auth blob of the wrong size');
        const id = hex(auth.subarray(0, 32));
        const key = keys.get(id);
        if (key === undefined) throw new Error('untrusted key');
        if (!verify(null, transcript, key, auth.subarray(auth.length - 64))) throw new Error('bad signature');
        authenticator.verified++;
        return names.get(id) as string;
      };
      const delay = options.verifyDelayMs;
      if (delay === undefined) return check();
      return new Promise<string>((resolve, reject) => {
        setTimeout(() => {
          try {
            resolve(check());
          } catch (error) {
            reject(error as Error);
          }
        }, delay);
      });
    },
  };
  return authenticator;
}
