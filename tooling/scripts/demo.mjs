#!/usr/bin/env node
// The repository's main job until the node peer lands: an XPP round trip through the real `xpp-wire`
// executable — JSON → hex → JSON for the spec's golden fragment and message — checked, then shown.
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const bin = fileURLToPath(new URL('../../packages/wire/bin/xpp-wire.js', import.meta.url));
const xppWire = (...args) => execFileSync(process.execPath, [bin, ...args], { encoding: 'utf8' }).trim();

const cases = [
  {
    what: 'fragment: SYN|REL, seq 0x1234, ltag 0xAAAA → 0xBBBB (spec golden vector 1)',
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
    what: 'message: PING #7 with DATA "hi" (spec golden vector 2)',
    flag: ['--message'],
    json: { number: 7, response: false, type: 1, options: [{ type: 3, mandatory: false, value: '6869' }] },
    hex: '000000070001000000000006000300026869',
  },
];

let ok = true;
for (const c of cases) {
  const hex = xppWire('encode', ...c.flag, JSON.stringify(c.json));
  const back = xppWire('decode', ...c.flag, hex);
  const good = hex === c.hex && back === JSON.stringify(c.json);
  ok &&= good;
  console.log(`${good ? 'ok  ' : 'FAIL'} ${c.what}\n     encode → ${hex}\n     decode → ${back}`);
}
console.log(ok ? 'xpp-wire round trip: ok' : 'xpp-wire round trip: FAILED');
process.exitCode = ok ? 0 : 1;
