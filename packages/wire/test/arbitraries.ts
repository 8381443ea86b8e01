import fc from 'fast-check';
import {
  decodeAckRanges,
  decodeAckTrailer,
  decodeFragment,
  decodeMessage,
  decodeMessageHeader,
  defaultRegistry,
  fragmentFromJson,
  messageFromJson,
  parseJson,
  fromHex,
  MAX_DATAGRAM_SIZE,
  WireError,
  type AckRange,
  type FragmentInit,
  type Message,
} from '@xpp/wire';

const u16 = fc.integer({ min: 0, max: 0xffff });

export const fragmentArb: fc.Arbitrary<FragmentInit> = fc.record({
  version: fc.constant(1),
  flags: fc.integer({ min: 0, max: 0x1f }),
  seq: u16,
  localId: u16,
  remoteId: u16,
  payload: fc.uint8Array({ maxLength: 2048 }),
});

export const optionArb = fc.record({
  type: fc.integer({ min: 0, max: 0x7fff }),
  mandatory: fc.boolean(),
  value: fc.uint8Array({ maxLength: 300 }),
});

export const messageArb: fc.Arbitrary<Message> = fc.record({
  number: fc.integer({ min: 0, max: 0xffffffff }),
  response: fc.boolean(),
  type: fc.integer({ min: 0, max: 0x7fff }),
  options: fc.array(optionArb, { maxLength: 12 }),
});

export const ackRangesArb: fc.Arbitrary<AckRange[]> = fc.array(
  fc.record({ first: u16, count: fc.integer({ min: 1, max: 0x8000 }) }),
  { maxLength: 64 },
);

/** Bytes that look like XPP often enough to reach deep branches: valid prefixes, then mutated. */
export const hostileBytesArb: fc.Arbitrary<Uint8Array> = fc.oneof(
  fc.uint8Array({ maxLength: 64 }),
  fc.uint8Array({ minLength: 8, maxLength: 512 }).map((b) => {
    b[0] = 0x10 | (b[0]! & 0x0f);
    return b;
  }),
  fc
    .tuple(fc.integer({ min: 0, max: 0xffffffff }), fc.uint8Array({ maxLength: 256 }))
    .map(([declared, rest]) => {
      const out = new Uint8Array(12 + rest.length);
      out.set([0, 0, 0, 1, 0, 1, 0, 0, declared >>> 24, declared >>> 16, declared >>> 8, declared], 0);
      out.set(rest, 12);
      return out;
    }),
  fc.constant(new Uint8Array(MAX_DATAGRAM_SIZE + 1)),
);

/** Runs every decoder over `bytes`; returns the non-WireError thrown, if any. */
export function decodeEverything(bytes: Uint8Array): unknown {
  const decoders: ((b: Uint8Array) => unknown)[] = [
    decodeFragment,
    decodeMessage,
    decodeMessageHeader,
    decodeAckRanges,
    decodeAckTrailer,
    (b) => {
      const m = decodeMessage(b, { maxMessageSize: 1 << 20 });
      for (const option of m.options) defaultRegistry.option(option.type)?.decode(option);
      return defaultRegistry.unknownMandatory(m.options);
    },
  ];
  for (const decode of decoders) {
    try {
      decode(bytes);
    } catch (error) {
      if (!WireError.is(error)) return error;
    }
  }
  return undefined;
}

/** Runs the text front ends (hex, JSON) over `text`; returns the non-WireError thrown, if any. */
export function parseEverything(text: string): unknown {
  const parsers: ((t: string) => unknown)[] = [
    fromHex,
    (t) => fragmentFromJson(parseJson(t)),
    (t) => messageFromJson(parseJson(t)),
  ];
  for (const parse of parsers) {
    try {
      parse(text);
    } catch (error) {
      if (!WireError.is(error)) return error;
    }
  }
  return undefined;
}
