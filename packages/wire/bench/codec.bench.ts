// Encode + decode of a typical XPP message (12-octet header + 4 options, 100 octets), against
// compact-encoding (hyperswarm's codec) and JSON, all measured in this one run so the ratios hold on a noisy
// machine. The last line printed is one JSON object of the figures.
import c from 'compact-encoding';
import { Bench } from 'tinybench';
import { decodeMessage, encodeMessage, Option, type Message, type XppOption } from '../src/index.js';

const fill = (n: number, v: number) => new Uint8Array(n).fill(v);
const message: Message = {
  number: 0x01020304,
  response: false,
  type: 0x0101,
  options: [
    Option.DATA.option(fill(48, 0x61)),
    Option.SIZE.option(1200),
    Option.RETRY_AFTER.option(30),
    { type: 0x0102, mandatory: true, value: fill(16, 0x7f) },
  ],
};

// The same fields in compact-encoding: u32 number, bool response, u16 type, array of (u16, bool, buffer).
const optionStruct = {
  preencode(state: c.State, o: XppOption) {
    c.uint16.preencode(state, o.type);
    c.bool.preencode(state, o.mandatory);
    c.uint8array.preencode(state, o.value);
  },
  encode(state: c.State, o: XppOption) {
    c.uint16.encode(state, o.type);
    c.bool.encode(state, o.mandatory);
    c.uint8array.encode(state, o.value);
  },
  decode(state: c.State): XppOption {
    return {
      type: c.uint16.decode(state),
      mandatory: c.bool.decode(state),
      value: c.uint8array.decode(state),
    };
  },
};
const optionsArray = c.array(optionStruct);
const messageStruct = {
  preencode(state: c.State, m: Message) {
    c.uint32.preencode(state, m.number);
    c.bool.preencode(state, m.response);
    c.uint16.preencode(state, m.type);
    optionsArray.preencode(state, m.options as XppOption[]);
  },
  encode(state: c.State, m: Message) {
    c.uint32.encode(state, m.number);
    c.bool.encode(state, m.response);
    c.uint16.encode(state, m.type);
    optionsArray.encode(state, m.options as XppOption[]);
  },
  decode(state: c.State): Message {
    return {
      number: c.uint32.decode(state),
      response: c.bool.decode(state),
      type: c.uint16.decode(state),
      options: optionsArray.decode(state),
    };
  },
};

const asJson = {
  number: message.number,
  response: message.response,
  type: message.type,
  options: message.options.map((o) => ({ ...o, value: Buffer.from(o.value).toString('base64') })),
};

let sink = 0;
const bench = new Bench({ time: Number(process.env['BENCH_TIME_MS'] ?? 1500), warmupTime: 300 });
bench
  .add('xpp encode+decode', () => {
    sink += decodeMessage(encodeMessage(message)).options.length;
  })
  .add('compact-encoding encode+decode', () => {
    sink += c.decode(messageStruct, c.encode(messageStruct, message)).options.length;
  })
  .add('JSON stringify+parse', () => {
    const parsed = JSON.parse(Buffer.from(JSON.stringify(asJson)).toString()) as typeof asJson;
    sink += parsed.options.map((o) => Buffer.from(o.value, 'base64')).length;
  });
await bench.run();

function opsPerSec(name: string): number {
  const result = bench.getTask(name)?.result;
  if (result?.state !== 'completed') throw new Error(`benchmark ${name} did not complete`);
  return result.throughput.mean;
}
const ours = opsPerSec('xpp encode+decode');
const compact = opsPerSec('compact-encoding encode+decode');
const json = opsPerSec('JSON stringify+parse');
console.table(bench.table());
console.log(
  `message size: ${encodeMessage(message).length} octets (compact-encoding: ${c.encode(messageStruct, message).length})`,
);
if (sink === 0) console.log('(sink)');
console.log(
  JSON.stringify({
    opsPerSec: Math.round(ours),
    ratioCompactEncoding: Number((ours / compact).toFixed(2)),
    ratioJson: Number((ours / json).toFixed(2)),
  }),
);
