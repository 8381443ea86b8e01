// What this package adds to an XPP session's cost, each against a baseline measured in the same run:
// - sealing (spec §7): seal+open of a full 1168-octet payload vs encoding+decoding the same fragment unsealed,
//   and goodput of a loopback UDP blast sealed vs plain (same socket code, same datagram size);
// - SDP: parseSdp vs sdp-transform's bare parse of the same body;
// - SIP: parse of an INVITE, and INVITE→200→ACK setup time between two user agents on loopback.
// The last line printed is one JSON object of the figures.
import { createSocket, type Socket } from 'node:dgram';
import { Bench } from 'tinybench';
import { parse as sdpTransformParse } from 'sdp-transform';
import { FRAGMENT_HEADER_SIZE, Flag, decodeFragment, encodeFragment, encodeFragmentHeader } from '@xpp/wire';
import {
  SEAL_OVERHEAD,
  SessionCipher,
  SipHeaders,
  SipUserAgent,
  answerXppSession,
  buildSdp,
  deriveDirectionalKeys,
  generateXppKeyPair,
  offerXppSession,
  parseSdp,
  parseSipMessage,
  serializeSip,
  type XppDescription,
} from '../src/index.js';
import { makeCandidate } from '../src/sdp/candidate.js';

const DATAGRAM = 1200;
const PLAIN_PAYLOAD = DATAGRAM - FRAGMENT_HEADER_SIZE;
const SEALED_PAYLOAD = PLAIN_PAYLOAD - SEAL_OVERHEAD;
const time = Number(process.env['BENCH_TIME_MS'] ?? 1000);

const a = generateXppKeyPair();
const b = generateXppKeyPair();
const keysA = deriveDirectionalKeys({ local: a, localLtag: 1, remotePublicKey: b.publicKey, remoteLtag: 2 });
const keysB = deriveDirectionalKeys({ local: b, localLtag: 2, remotePublicKey: a.publicKey, remoteLtag: 1 });

// ---- micro benchmarks ----
const description: XppDescription = {
  address: '192.0.2.10',
  port: 40000,
  ltag: 0xbeef,
  candidates: [
    makeCandidate('host', { address: '192.0.2.10', port: 40000 }),
    makeCandidate('srflx', { address: '203.0.113.9', port: 61000 }, { address: '192.0.2.10', port: 40000 }),
  ],
  publicKey: a.publicKey,
};
const sdp = buildSdp(description);
const inviteBytes = serializeSip({
  kind: 'request',
  method: 'INVITE',
  uri: 'sip:bob@192.0.2.20',
  headers: new SipHeaders([
    ['Via', 'SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKabcdef;rport'],
    ['Max-Forwards', '70'],
    ['From', '<sip:alice@192.0.2.10>;tag=1928301774'],
    ['To', '<sip:bob@192.0.2.20>'],
    ['Call-ID', 'a84b4c76e66710@192.0.2.10'],
    ['CSeq', '314159 INVITE'],
    ['Contact', '<sip:alice@192.0.2.10:5060>'],
    ['Content-Type', 'application/sdp'],
  ]),
  body: new TextEncoder().encode(sdp),
});

const sealer = new SessionCipher(keysA, { replayWindow: 65_536 });
const plaintext = new Uint8Array(SEALED_PAYLOAD).fill(0x61);
const plainPayload = new Uint8Array(PLAIN_PAYLOAD).fill(0x61);
const header = new Uint8Array(FRAGMENT_HEADER_SIZE);
encodeFragmentHeader({ flags: Flag.REL | Flag.LFR, seq: 1, localId: 1, remoteId: 2 }, header);
// Open in a fresh cipher per batch so the replay window never refuses: the bench measures crypto, not replays.
let opener = new SessionCipher(keysB, { replayWindow: 65_536 });
let sink = 0;

const bench = new Bench({ time, warmupTime: 200 });
bench
  .add('seal+open 1168 B', () => {
    if (opener.stats.opened >= 60_000) opener = new SessionCipher(keysB, { replayWindow: 65_536 });
    const sealed = sealer.seal(header, plaintext);
    const opened = opener.open(header, sealed);
    sink += opened.ok ? opened.plaintext.length : 0;
  })
  .add('plain encode+decode 1192 B', () => {
    const datagram = encodeFragment({
      flags: Flag.REL | Flag.LFR,
      seq: 1,
      localId: 1,
      remoteId: 2,
      payload: plainPayload,
    });
    sink += new Uint8Array(decodeFragment(datagram).payload).length;
  })
  .add('parseSdp', () => {
    sink += parseSdp(sdp).candidates.length;
  })
  .add('sdp-transform parse', () => {
    sink += sdpTransformParse(sdp).media.length;
  })
  .add('parseSipMessage INVITE', () => {
    sink += parseSipMessage(inviteBytes).body.length;
  });
await bench.run();

function result(name: string) {
  const r = bench.getTask(name)?.result;
  if (r?.state !== 'completed') throw new Error(`benchmark ${name} did not complete`);
  return r;
}
console.table(bench.table());

// ---- loopback goodput: plain vs sealed ----
async function bound(): Promise<Socket> {
  const socket = createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  return socket;
}

/** Bursts of 32 datagrams; the receiver answers one octet after the last of a burst. Returns payload octets/s. */
async function goodput(sealed: boolean, ms: number): Promise<number> {
  const tx = await bound();
  const rx = await bound();
  const send = new SessionCipher(keysA, { replayWindow: 65_536 });
  const receive = new SessionCipher(keysB, { replayWindow: 65_536 });
  let delivered = 0;
  let waiting: (() => void) | undefined;
  rx.on('message', (datagram) => {
    const fragment = decodeFragment(datagram);
    if (sealed) {
      const opened = receive.open(datagram.subarray(0, FRAGMENT_HEADER_SIZE), fragment.payload);
      if (opened.ok) delivered += opened.plaintext.length;
    } else {
      delivered += new Uint8Array(fragment.payload).length;
    }
    if ((fragment.seq & 31) === 31) rx.send(Uint8Array.of(1), tx.address().port, '127.0.0.1');
  });
  tx.on('message', () => waiting?.());
  const port = rx.address().port;
  const start = performance.now();
  let seq = 0;
  while (performance.now() - start < ms) {
    const acked = new Promise<void>((resolve) => {
      waiting = resolve;
      setTimeout(resolve, 20);
    });
    for (let i = 0; i < 32; i++, seq++) {
      const h = new Uint8Array(FRAGMENT_HEADER_SIZE);
      encodeFragmentHeader({ flags: Flag.REL | Flag.LFR, seq: seq & 0xffff, localId: 1, remoteId: 2 }, h);
      const payload = sealed ? send.seal(h, plaintext) : plainPayload;
      const datagram = new Uint8Array(FRAGMENT_HEADER_SIZE + payload.length);
      datagram.set(h);
      datagram.set(payload, FRAGMENT_HEADER_SIZE);
      tx.send(datagram, port, '127.0.0.1');
    }
    await acked;
  }
  const elapsed = (performance.now() - start) / 1000;
  tx.close();
  rx.close();
  return delivered / elapsed;
}

// Alternate to spread machine noise over both; keep the best of each.
let plainBest = 0;
let sealedBest = 0;
for (let round = 0; round < 2; round++) {
  plainBest = Math.max(plainBest, await goodput(false, time));
  sealedBest = Math.max(sealedBest, await goodput(true, time));
}

// ---- SIP setup on loopback ----
const bob = await SipUserAgent.listen({
  onInvite: (invite) =>
    void answerXppSession(invite, () => ({ ...description, address: '127.0.0.1', candidates: [] })),
});
const alice = await SipUserAgent.listen();
const setups: number[] = [];
for (let i = 0; i < 50; i++) {
  const t0 = performance.now();
  const { call } = await offerXppSession(alice, bob.contactUri, {
    ...description,
    address: '127.0.0.1',
    candidates: [],
  });
  setups.push(performance.now() - t0);
  await call.bye();
}
await alice.close();
await bob.close();
setups.sort((x, y) => x - y);
const sipSetupMsP50 = setups[Math.floor(setups.length / 2)] ?? 0;

const seal = result('seal+open 1168 B');
const plain = result('plain encode+decode 1192 B');
const ours = result('parseSdp');
const bare = result('sdp-transform parse');
const sip = result('parseSipMessage INVITE');
console.log(
  `goodput on loopback: plain ${(plainBest / 1e6).toFixed(1)} MB/s, sealed ${(sealedBest / 1e6).toFixed(1)} MB/s; ` +
    `SIP INVITE→ACK p50 ${sipSetupMsP50.toFixed(2)} ms (min ${setups[0]?.toFixed(2)}, max ${setups.at(-1)?.toFixed(2)})`,
);
if (sink === 0) console.log('(sink)');
console.log(
  JSON.stringify({
    sipSetupMs: Number(sipSetupMsP50.toFixed(2)),
    blastSecureGoodputRatio: Number((sealedBest / plainBest).toFixed(3)),
    sealOpenUs: Number((seal.latency.mean * 1000).toFixed(2)),
    plainEncodeDecodeUs: Number((plain.latency.mean * 1000).toFixed(2)),
    parseSdpOverSdpTransform: Number((bare.throughput.mean / ours.throughput.mean).toFixed(2)),
    sipParseOpsPerSec: Math.round(sip.throughput.mean),
  }),
);
