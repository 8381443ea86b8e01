// Cutting a 64 KiB message into 1200-octet datagrams and reassembling it (in order and shuffled), against the
// least any implementation must do in the same run: copy the octets into datagrams, and concatenate the pieces.
// The last line printed is one JSON object of the figures.
import { Flag, Option, decodeFragment, encodeMessage, hasFlag } from '@xpp/wire';
import { Bench } from 'tinybench';
import { Fragmenter, Reassembler } from '../src/index.js';

const message = encodeMessage({
  number: 1,
  response: false,
  type: 0x4000,
  options: [Option.DATA.option(new Uint8Array(65_535 - 16).fill(7))],
});
const fragmenter = new Fragmenter();
const address = { localId: 1, remoteId: 2 };
const datagrams = fragmenter.fragment(message, 0xfff0, address);
const pieces = datagrams.map((d) => {
  const f = decodeFragment(d);
  return { seq: f.seq, last: hasFlag(f.flags, Flag.LFR), payload: f.payload };
});
// a fixed shuffle (every 7th first, and so on) so every run reorders the same way
const shuffled = [...pieces].sort((a, b) => ((a.seq * 7) % 55) - ((b.seq * 7) % 55));

let sink = 0;
const reassemble = (list: typeof pieces): void => {
  const r = new Reassembler({ initialSeq: 0xfff0, onMessage: (m) => (sink += m.length) });
  for (const p of list) r.accept(p.seq, p.last, p.payload);
};

const bench = new Bench({ time: Number(process.env['BENCH_TIME_MS'] ?? 1500), warmupTime: 300 });
bench
  .add('xpp fragment 64 KiB → 55 datagrams', () => {
    sink += fragmenter.fragment(message, 0xfff0, address).length;
  })
  .add('baseline: copy 64 KiB into 55 buffers', () => {
    for (let at = 0; at < message.length; at += 1192) {
      const out = new Uint8Array(Math.min(1200, message.length - at + 8));
      out.set(message.subarray(at, at + 1192), 8);
      sink += out.length;
    }
  })
  .add('xpp reassemble 64 KiB, in order', () => reassemble(pieces))
  .add('xpp reassemble 64 KiB, shuffled', () => reassemble(shuffled))
  .add('baseline: concatenate 55 pieces', () => {
    sink += Buffer.concat(pieces.map((p) => p.payload)).length;
  });
await bench.run();

function hz(name: string): number {
  const result = bench.getTask(name)?.result;
  if (result?.state !== 'completed') throw new Error(`benchmark ${name} did not complete`);
  return result.throughput.mean;
}
console.table(bench.table());
if (sink === 0) console.log('(sink)');
const round = (x: number) => Number(x.toFixed(2));
const fragmentHz = hz('xpp fragment 64 KiB → 55 datagrams');
const inOrderHz = hz('xpp reassemble 64 KiB, in order');
console.log(
  JSON.stringify({
    fragmentOpsPerSec: Math.round(fragmentHz),
    ratioCopyBaseline: round(fragmentHz / hz('baseline: copy 64 KiB into 55 buffers')),
    reassembleOpsPerSec: Math.round(inOrderHz),
    reassembleShuffledOpsPerSec: Math.round(hz('xpp reassemble 64 KiB, shuffled')),
    ratioConcatBaseline: round(inOrderHz / hz('baseline: concatenate 55 pieces')),
  }),
);
