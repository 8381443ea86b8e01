// Regenerates test/vectors.json from the definitions below. The committed file is the contract: a change to
// the wire format shows up as a diff there, reviewed by hand against the spec, never silently.
import { writeFileSync } from 'node:fs';
import {
  decodeAckRanges,
  decodeAckTrailer,
  decodeFragment,
  decodeMessage,
  encodeAckRanges,
  encodeAckTrailer,
  encodeFragment,
  encodeMessage,
  Flag,
  fragmentToJson,
  fromHex,
  messageToJson,
  Option,
  toHex,
  WireError,
  type FragmentInit,
  type Message,
} from '../src/index.js';

interface Vector {
  name: string;
  kind: 'fragment' | 'message' | 'ackRanges' | 'ackTrailer';
  hex: string;
  json?: unknown;
  canonicalHex?: string;
  error?: string;
}

const vectors: Vector[] = [];
const text = (s: string) => new TextEncoder().encode(s);

function fragment(name: string, init: FragmentInit): void {
  const hex = toHex(encodeFragment(init));
  vectors.push({ name, kind: 'fragment', hex, json: fragmentToJson(decodeFragment(fromHex(hex))) });
}
function message(name: string, m: Message): void {
  const hex = toHex(encodeMessage(m));
  vectors.push({ name, kind: 'message', hex, json: messageToJson(decodeMessage(fromHex(hex))) });
}
function bad(name: string, kind: Vector['kind'], hex: string): void {
  const decode = {
    fragment: decodeFragment,
    message: decodeMessage,
    ackRanges: decodeAckRanges,
    ackTrailer: decodeAckTrailer,
  }[kind];
  try {
    decode(fromHex(hex));
  } catch (error) {
    if (WireError.is(error)) {
      vectors.push({ name, kind, hex, error: error.code });
      return;
    }
    throw error;
  }
  throw new Error(`vector ${name} decodes, expected an error`);
}

const ids = { localId: 0xaaaa, remoteId: 0xbbbb };
fragment('spec golden 1: SYN|REL, seq 0x1234, no payload', {
  flags: Flag.SYN | Flag.REL,
  seq: 0x1234,
  ...ids,
});
fragment('ACK of the SYN, the other way', {
  flags: Flag.ACK,
  seq: 0x1234,
  localId: 0xbbbb,
  remoteId: 0xaaaa,
});
fragment('SYN|ACK|REL crossing SYN', { flags: Flag.SYN | Flag.ACK | Flag.REL, seq: 0x0001, ...ids });
fragment('every flag set', { flags: 0x1f, seq: 0x8000, ...ids });
fragment('KPA, no payload', { flags: Flag.KPA, seq: 0x0042, ...ids });
fragment('KPA|ACK answer', { flags: Flag.KPA | Flag.ACK, seq: 0x0042, localId: 0xbbbb, remoteId: 0xaaaa });
fragment('REL|LFR single-fragment message "hello"', {
  flags: Flag.REL | Flag.LFR,
  seq: 7,
  ...ids,
  payload: text('hello'),
});
fragment('REL middle fragment at seq 0xffff (wraps next)', {
  flags: Flag.REL,
  seq: 0xffff,
  ...ids,
  payload: Uint8Array.of(1, 2, 3),
});
fragment('REL|LFR after wrap at seq 0x0000', {
  flags: Flag.REL | Flag.LFR,
  seq: 0,
  ...ids,
  payload: Uint8Array.of(4),
});
fragment('unreliable message: LFR without REL', { flags: Flag.LFR, seq: 0x0100, ...ids, payload: text('x') });
fragment('ltags zero and 0xffff', { flags: Flag.REL, seq: 1, localId: 0, remoteId: 0xffff });
fragment('ACK with two extra ranges', {
  flags: Flag.ACK,
  seq: 0x0010,
  ...ids,
  payload: encodeAckRanges([
    { first: 0x0012, count: 3 },
    { first: 0xfffe, count: 4 },
  ]),
});
vectors.push({
  name: 'reserved bits set are ignored on receipt',
  kind: 'fragment',
  hex: '1fe41234aaaabbbb',
  canonicalHex: '10041234aaaabbbb',
  json: fragmentToJson(decodeFragment(fromHex('1fe41234aaaabbbb'))),
});
bad('version 0', 'fragment', '00141234aaaabbbb');
bad('version 2', 'fragment', '20141234aaaabbbb');
bad('version 15', 'fragment', 'f0141234aaaabbbb');
bad('seven octets: header truncated', 'fragment', '10141234aaaabb');
bad('empty datagram', 'fragment', '');

message('spec golden 2: PING number 7, DATA "hi"', {
  number: 7,
  response: false,
  type: 0x0001,
  options: [Option.DATA.option(text('hi'))],
});
message('PING response echoing DATA', {
  number: 7,
  response: true,
  type: 0x0001,
  options: [Option.DATA.option(text('hi'))],
});
message('ECHO-SIZE request for 1000 octets', {
  number: 1,
  response: false,
  type: 0x0002,
  options: [Option.SIZE.option(1000)],
});
message('420 response listing an unknown mandatory option', {
  number: 0x01020304,
  response: true,
  type: 0x4001,
  options: [Option.ERROR.option({ code: 420, reason: 'unknown' }), Option.UNKNOWN_OPTIONS.option([0x7001])],
});
message('request with an unknown mandatory option (M=1), empty value', {
  number: 2,
  response: false,
  type: 0x4001,
  options: [{ type: 0x7001, mandatory: true, value: new Uint8Array(0) }],
});
message('503 with RETRY-AFTER 30', {
  number: 3,
  response: true,
  type: 0x0100,
  options: [Option.ERROR.option({ code: 503, reason: 'busy' }), Option.RETRY_AFTER.option(30)],
});
message('largest number and type, no options', {
  number: 0xffffffff,
  response: true,
  type: 0x7fff,
  options: [],
});
message('repeated DATA options keep their order', {
  number: 9,
  response: false,
  type: 0x0001,
  options: [
    Option.DATA.option(Uint8Array.of(1)),
    Option.DATA.option(Uint8Array.of(2)),
    Option.DATA.option(Uint8Array.of(3)),
  ],
});
message('ERROR reason in UTF-8 (non-ASCII)', {
  number: 4,
  response: true,
  type: 0x0001,
  options: [Option.ERROR.option({ code: 404, reason: 'non trouvé' })],
});
vectors.push({
  name: 'reserved octets set are ignored on receipt',
  kind: 'message',
  hex: '000000070001ffff00000000',
  canonicalHex: '000000070001000000000000',
  json: messageToJson(decodeMessage(fromHex('000000070001ffff00000000'))),
});
bad('parameters length one short of what follows', 'message', '00000007000100000000000500030002686900');
bad('parameters length beyond what follows', 'message', '000000070001000000000007000300026869');
bad('option value overruns the parameters', 'message', '000000070001000000000006000300036869');
bad('option header cut short', 'message', '0000000700010000000000020003');
bad(
  'announces 12 + 256 KiB octets: over the 256 KiB limit, rejected before buffering',
  'message',
  '000000070001000000040000',
);
bad('eleven octets: header truncated', 'message', '0000000700010000000000');

vectors.push({
  name: 'ACK ranges: two ranges, one across the wrap',
  kind: 'ackRanges',
  hex: toHex(
    encodeAckRanges([
      { first: 1, count: 2 },
      { first: 0xffff, count: 3 },
    ]),
  ),
  json: decodeAckRanges(
    encodeAckRanges([
      { first: 1, count: 2 },
      { first: 0xffff, count: 3 },
    ]),
  ),
});
bad('ACK ranges: not a multiple of 4 octets', 'ackRanges', '000100');
bad('ACK ranges: count 0', 'ackRanges', '00010000');

// Profile v2 piggybacked ACK (docs/decisions/reliability-piggyback-ack.md): a response's own fragment sets ACK
// and ends with the acknowledged ranges and their count in one octet.
function withTrailer(data: Uint8Array, ranges: { first: number; count: number }[]): Uint8Array {
  const out = new Uint8Array(data.length + ranges.length * 4 + 1);
  out.set(data);
  encodeAckTrailer(ranges, out, data.length);
  return out;
}
fragment('ACK|REL|LFR: "hello" acknowledging seq 7 in its trailer', {
  flags: Flag.ACK | Flag.REL | Flag.LFR,
  seq: 0x0100,
  localId: 0xbbbb,
  remoteId: 0xaaaa,
  payload: withTrailer(text('hello'), [{ first: 7, count: 1 }]),
});
for (const [name, data, ranges] of [
  ['ACK trailer: "hello", acknowledging seq 7', text('hello'), [{ first: 7, count: 1 }]],
  [
    'ACK trailer: empty data, two ranges, one across the wrap',
    new Uint8Array(0),
    [
      { first: 0xfffe, count: 4 },
      { first: 0x0010, count: 64 },
    ],
  ],
] as const) {
  const bytes = withTrailer(data, [...ranges]);
  const decoded = decodeAckTrailer(bytes);
  vectors.push({
    name,
    kind: 'ackTrailer',
    hex: toHex(bytes),
    json: { data: toHex(decoded.data), ranges: decoded.ranges },
  });
}
bad('ACK trailer: empty payload', 'ackTrailer', '');
bad('ACK trailer: count 0', 'ackTrailer', '68656c6c6f00');
bad('ACK trailer: count 2, one range present', 'ackTrailer', '0007000102');
bad('ACK trailer: a range of count 0', 'ackTrailer', '6800070000' + '01');

writeFileSync(new URL('../test/vectors.json', import.meta.url), `${JSON.stringify(vectors, null, 2)}\n`);
console.log(`${vectors.length} vectors`);
