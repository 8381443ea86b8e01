// Ed25519 verify: libsodium (`sodium-native`) against node:crypto, interleaved in one run, and what a peer
// certificate check costs cold and through the cache (docs/decisions/dht-peer-certificate.md).
// Run: node --import tsx bench/ed25519.bench.ts
import { createPublicKey, generateKeyPairSync, sign, verify } from 'node:crypto';
import sodium from 'sodium-native';
import {
  AdminKeySet,
  createPeerAuthenticator,
  generatePeerIdentity,
  issuePeerCertificate,
  verifyPeerCertificate,
} from '../src/index.js';

const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');
const N = 2000;
const ROUNDS = 7;
const admin = generateKeyPairSync('ed25519');
const raw = new Uint8Array(
  admin.publicKey.export({ type: 'spki', format: 'der' }).subarray(SPKI_PREFIX.length),
);
const message = new Uint8Array(120).fill(7);
const signature = new Uint8Array(sign(null, message, admin.privateKey));
const admins = new AdminKeySet([admin.publicKey]);
const alice = generatePeerIdentity();
const bob = generatePeerIdentity();
const now = Math.floor(Date.now() / 1000);
const cert = (publicKey: Uint8Array) =>
  issuePeerCertificate(
    { publicKey, domain: 'example.org', notBefore: now, notAfter: now + 86_400 },
    admin.privateKey,
  );
const clock = { wallNow: () => Date.now() };
const common = { admins, domain: 'example.org', clock };
const bobAuth = createPeerAuthenticator({ identity: bob, certificate: cert(bob.publicKey), ...common });
const aliceCert = cert(alice.publicKey);
const blob = createPeerAuthenticator({ identity: alice, certificate: aliceCert, ...common }).sign(message);

const tasks: Record<string, () => boolean> = {
  'node:crypto verify, KeyObject ready': () => verify(null, message, admin.publicKey, signature),
  'node:crypto verify, KeyObject from raw': () =>
    verify(
      null,
      message,
      createPublicKey({ key: Buffer.concat([SPKI_PREFIX, raw]), format: 'der', type: 'spki' }),
      signature,
    ),
  'libsodium verify, raw key': () => sodium.crypto_sign_verify_detached(signature, message, raw),
  'verifyPeerCertificate (1 admin verify)': () => {
    verifyPeerCertificate(aliceCert, { admins, domain: 'example.org', now });
    return true;
  },
  'a=xpp-auth verify, cached certificate': () => bobAuth.verify(blob, message) === alice.id,
  'a=xpp-auth verify, cache off (2 verifies)': () => {
    const cold = createPeerAuthenticator({
      identity: bob,
      certificate: cert(bob.publicKey),
      ...common,
      cacheSize: 0,
    });
    return cold.verify(blob, message) === alice.id;
  },
};

const samples = new Map<string, number[]>(Object.keys(tasks).map((k) => [k, []]));
for (let round = 0; round < ROUNDS; round++) {
  for (const [name, run] of Object.entries(tasks)) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < N; i++) if (!run()) throw new Error(`${name} failed`);
    samples.get(name)?.push(Number(process.hrtime.bigint() - start) / N / 1000);
  }
}
const median = (a: number[]) => [...a].sort((x, y) => x - y)[a.length >> 1] as number;
console.log(`Node ${process.version}, ${N} × ${ROUNDS} interleaved rounds, µs per call: median (min–max)`);
for (const [name, s] of samples) {
  console.log(
    `${name.padEnd(44)} ${median(s).toFixed(1)} (${Math.min(...s).toFixed(1)}–${Math.max(...s).toFixed(1)})`,
  );
}
