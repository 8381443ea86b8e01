// The pure parts of @xpp/dht against baselines measured in this same run (ratios hold on a noisy machine):
// PUT body ↔ XPP message vs JSON; RecordStore put+get vs a bare Map; verifyDigest vs the bare hashing it needs;
// verifyCredential vs a bare Ed25519 verify. Plus heap octets per stored binding. The last line printed is one
// JSON object of the figures.
import { createHash, timingSafeEqual, verify } from 'node:crypto';
import { Bench } from 'tinybench';
import { FakeClock } from '@xpp/reliability/testing';
import { decodeMessage, encodeMessage } from '@xpp/wire';
import {
  DhtOperation,
  RecordKind,
  RecordStore,
  bindingCodec,
  computeDigestResponse,
  createCredential,
  createCredentialVerifier,
  credentialSigningBytes,
  decodePut,
  encodeCredential,
  encodePut,
  generateAdminKeyPair,
  signCredential,
  verifyCredential,
  verifyDigest,
  type PutRequest,
} from '../src/index.js';

const KEYS = 10_000;
const aors = Array.from({ length: KEYS }, (_, i) => `sip:user${i}@example.org`);
const bindingValue = bindingCodec.encode({
  instanceId: '<urn:uuid:00000000-0000-1000-8000-000a95a0e128>',
  regId: 1,
  contact: 'sip:alice@192.0.2.10:5060;transport=udp',
  flowPeer: Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8),
});
const put: PutRequest = { key: aors[0]!, kind: RecordKind.BINDING, value: bindingValue, lifetime: 3600 };
const putJson = { ...put, value: Buffer.from(put.value).toString('base64') };

const clock = new FakeClock();
const store = new RecordStore({ clock });
const map = new Map<string, Uint8Array>();

const admin = generateAdminKeyPair();
const credential = signCredential(
  createCredential({ aor: aors[0]!, realm: 'example.org', password: 'pw' }),
  admin.privateKey,
);
const credentialValue = encodeCredential(credential);
const checkCredential = createCredentialVerifier(admin.publicKey);
const signingBytes = credentialSigningBytes(credential);
const challenge = {
  nonce: 'dcd98b7102dd2f0e8b11d0f600bfb0c093',
  uri: 'sip:example.org',
  method: 'REGISTER',
  qop: 'auth',
  nc: '00000001',
  cnonce: '0a4f113b',
};
const response = computeDigestResponse('SHA-256', credential.ha1Sha256, challenge);
const digestFields = {
  ...challenge,
  username: credential.username,
  realm: credential.realm,
  algorithm: 'SHA-256',
  response,
};

let sink = 0;
let i = 0;
const bench = new Bench({ time: Number(process.env['BENCH_TIME_MS'] ?? 1000), warmupTime: 200 });
bench
  .add('PUT body → message → PUT body', () => {
    const bytes = encodeMessage({
      number: 1,
      response: false,
      type: DhtOperation.PUT.type,
      options: encodePut(put),
    });
    sink += decodePut(decodeMessage(bytes).options).lifetime;
  })
  .add('PUT body as JSON (baseline)', () => {
    const parsed = JSON.parse(Buffer.from(JSON.stringify(putJson)).toString()) as typeof putJson;
    sink += Buffer.from(parsed.value, 'base64').length;
  })
  .add('RecordStore put+get BINDING', () => {
    const key = aors[i++ % KEYS]!;
    store.put({ key, kind: RecordKind.BINDING, value: bindingValue, lifetime: 3600 });
    sink += store.get(key, RecordKind.BINDING).length;
  })
  .add('Map set+get (baseline)', () => {
    const key = aors[i++ % KEYS]!;
    map.set(key, bindingValue.slice());
    sink += map.get(key)!.length;
  })
  .add('verifyDigest SHA-256', () => {
    sink += verifyDigest(credential, digestFields) ? 1 : 0;
  })
  .add('two SHA-256 + compare (baseline)', () => {
    const ha2 = createHash('sha256').update(`REGISTER:${challenge.uri}`).digest('hex');
    const ha1 = Buffer.from(credential.ha1Sha256).toString('hex');
    const r = createHash('sha256')
      .update(`${ha1}:${challenge.nonce}:${challenge.nc}:${challenge.cnonce}:auth:${ha2}`)
      .digest('hex');
    sink += timingSafeEqual(Buffer.from(r), Buffer.from(response)) ? 1 : 0;
  })
  .add('verify CREDENTIAL record', () => {
    sink += checkCredential(credential.aor, credentialValue).serial;
  })
  .add('Ed25519 verify (baseline)', () => {
    sink += verify(null, signingBytes, admin.publicKey, credential.signature) ? 1 : 0;
  });
await bench.run();

function opsPerSec(name: string): number {
  const result = bench.getTask(name)?.result;
  if (result?.state !== 'completed') throw new Error(`benchmark ${name} did not complete`);
  return result.throughput.mean;
}

/** Heap octets one stored binding costs, with its key, digest, index entries and expiry entry. */
function heapPerRecord(count: number): number {
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  const before = process.memoryUsage().heapUsed;
  const s = new RecordStore({ clock, maxRecords: count });
  for (let k = 0; k < count; k++)
    s.put({
      key: `sip:member${k}@example.org`,
      kind: RecordKind.BINDING,
      value: bindingValue,
      lifetime: 3600,
    });
  gc?.();
  const used = process.memoryUsage().heapUsed - before;
  sink += s.stats.records;
  return used / count;
}

clock.advance(1);
sink += verifyCredential(credentialValue, admin.publicKey).serial;
const figures = {
  putBodyOpsPerSec: Math.round(opsPerSec('PUT body → message → PUT body')),
  putBodyRatioJson: Number(
    (opsPerSec('PUT body → message → PUT body') / opsPerSec('PUT body as JSON (baseline)')).toFixed(2),
  ),
  storeOpsPerSec: Math.round(opsPerSec('RecordStore put+get BINDING')),
  storeRatioMap: Number(
    (opsPerSec('RecordStore put+get BINDING') / opsPerSec('Map set+get (baseline)')).toFixed(2),
  ),
  digestOpsPerSec: Math.round(opsPerSec('verifyDigest SHA-256')),
  digestRatioRaw: Number(
    (opsPerSec('verifyDigest SHA-256') / opsPerSec('two SHA-256 + compare (baseline)')).toFixed(2),
  ),
  credentialOpsPerSec: Math.round(opsPerSec('verify CREDENTIAL record')),
  credentialRatioRaw: Number(
    (opsPerSec('verify CREDENTIAL record') / opsPerSec('Ed25519 verify (baseline)')).toFixed(2),
  ),
  heapBytesPerBinding: Math.round(heapPerRecord(50_000)),
};
console.table(bench.table());
if (sink === 0) console.log('(sink)');
console.log(JSON.stringify(figures));
