#!/usr/bin/env node
// The repository's main job until the node-peer daemon lands: the XPP wire format through the real `xpp-wire`
// tool, then a local XPP-PCAN overlay on embedded defaults — five peers on loopback UDP that grow from one by
// invitations, with secured XPP sessions set up by SIP, storing records and answering lookups from any peer.
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const bin = fileURLToPath(new URL('../../packages/wire/bin/xpp-wire.js', import.meta.url));
const xppWire = (...args) => execFileSync(process.execPath, [bin, ...args], { encoding: 'utf8' }).trim();

let ok = true;
const check = (good, line) => {
  ok &&= good;
  console.log(`${good ? 'ok  ' : 'FAIL'} ${line}`);
};

console.log('== the wire format (spec golden vectors) through xpp-wire');
for (const c of [
  {
    what: 'fragment SYN|REL seq 0x1234, ltag 0xAAAA → 0xBBBB',
    flag: [],
    json: {
      version: 1,
      flags: { syn: true, ack: false, rel: true, lfr: false, kpa: false },
      seq: 4660,
      localId: 43690,
      remoteId: 48059,
      payload: '',
    },
    hex: '10141234aaaabbbb',
  },
  {
    what: 'message PING #7 with DATA "hi"',
    flag: ['--message'],
    json: { number: 7, response: false, type: 1, options: [{ type: 3, mandatory: false, value: '6869' }] },
    hex: '000000070001000000000006000300026869',
  },
]) {
  const hex = xppWire('encode', ...c.flag, JSON.stringify(c.json));
  const back = xppWire('decode', ...c.flag, hex);
  check(hex === c.hex && back === JSON.stringify(c.json), `${c.what}: ${hex}`);
}

console.log('\n== a local XPP-PCAN overlay: 5 peers on 127.0.0.1, d = 2');
const { OverlayNode, RecordKind, peerRecordCodec } = await import('@xpp/dht');
const peers = [];
try {
  for (let i = 0; i < 5; i++) {
    const node = await OverlayNode.create({ dimensions: 2 });
    if (i === 0) node.bootstrap();
    else await peers[Math.floor(Math.random() * peers.length)].invite(node.ua.contactUri);
    peers.push(node);
    console.log(
      `peer ${node.id.slice(0, 8)} joined (SIP ${node.ua.local.port}, XPP ${node.endpoint.address.port})`,
    );
  }
  check(OverlayNode.tiling(peers).ok, 'the zones tile the space exactly: every point has one owner');
  const records = 100;
  for (let i = 0; i < records; i++) {
    const value = peerRecordCodec.encode({
      peerId: Uint8Array.of(i),
      contact: { uri: `sip:user${i}@localhost`, candidates: [] },
    });
    await peers[i % peers.length].put(`sip:user${i}@localhost`, RecordKind.PEER, value, 3600);
  }
  let found = 0;
  for (let i = 0; i < records; i++) {
    const got = await peers[(i * 3 + 1) % peers.length].get(`sip:user${i}@localhost`, RecordKind.PEER);
    if (got.length === 1 && peerRecordCodec.decode(got[0].value).contact.uri === `sip:user${i}@localhost`)
      found++;
  }
  check(found === records, `${found}/${records} records stored at their owners and found from other peers`);
  console.log('\npeer      zone path  share  neighbours  records  XPP sessions');
  for (const p of peers) {
    const s = p.stats;
    console.log(
      `${p.id.slice(0, 8)}  ${p.zones
        .map((z) => z.path)
        .join(',')
        .padEnd(
          9,
        )}  ${(s.volume * 100).toFixed(1).padStart(5)}%  ${String(s.neighbours).padStart(10)}  ${String(s.records).padStart(7)}  ${String(p.endpoint.stats.sessions).padStart(12)}`,
    );
  }
} finally {
  await Promise.all(peers.map((p) => p.close()));
}
console.log(ok ? '\ndemo: ok' : '\ndemo: FAILED');
process.exitCode = ok ? 0 : 1;
