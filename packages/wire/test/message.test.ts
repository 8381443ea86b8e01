import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_MAX_MESSAGE_SIZE,
  decodeMessage,
  decodeMessageHeader,
  encodeMessage,
  MAX_OPTION_VALUE_SIZE,
  messageSize,
  Option,
  type Message,
} from '@xpp/wire';
import { messageArb } from './arbitraries.js';
import { codeOf } from './helpers.js';

/** A message of exactly `size` octets made of DATA options. */
function messageOf(size: number): Message {
  const options = [];
  let left = size - 12;
  while (left > 0) {
    const value = Math.min(left - 4, MAX_OPTION_VALUE_SIZE);
    options.push(Option.DATA.option(new Uint8Array(value).fill(0x5a)));
    left -= value + 4;
  }
  return { number: 1, response: false, type: 1, options };
}

describe('message codec', () => {
  it('round-trips a message of exactly the default maximum size', () => {
    const m = messageOf(DEFAULT_MAX_MESSAGE_SIZE);
    const bytes = encodeMessage(m);
    expect(bytes.length).toBe(DEFAULT_MAX_MESSAGE_SIZE);
    expect(messageSize(m)).toBe(DEFAULT_MAX_MESSAGE_SIZE);
    expect(decodeMessage(bytes).options.length).toBe(m.options.length);
  });

  it('rejects one octet over the maximum from the header alone', () => {
    const bytes = encodeMessage(messageOf(DEFAULT_MAX_MESSAGE_SIZE + 4));
    expect(codeOf(() => decodeMessage(bytes))).toBe('TOO_LARGE');
    // Only the first 12 octets are needed to refuse: nothing is buffered for a huge announcement.
    expect(codeOf(() => decodeMessageHeader(bytes.subarray(0, 12)))).toBe('TOO_LARGE');
    expect(decodeMessage(bytes, { maxMessageSize: bytes.length }).options.length).toBeGreaterThan(0);
  });

  it('honours a smaller configured maximum', () => {
    const bytes = encodeMessage(messageOf(100));
    expect(codeOf(() => decodeMessage(bytes, { maxMessageSize: 99 }))).toBe('TOO_LARGE');
    expect(decodeMessage(bytes, { maxMessageSize: 100 }).number).toBe(1);
  });

  it('reads the header of a first fragment without the rest', () => {
    const bytes = encodeMessage(messageOf(5000));
    expect(decodeMessageHeader(bytes.subarray(0, 1192))).toEqual({
      number: 1,
      response: false,
      type: 1,
      paramsLength: 5000 - 12,
    });
  });

  it('option values are views into the message bytes', () => {
    const bytes = encodeMessage({
      number: 1,
      response: false,
      type: 1,
      options: [Option.DATA.option(Uint8Array.of(7))],
    });
    const value = decodeMessage(bytes).options[0]!.value;
    expect(value.buffer).toBe(bytes.buffer);
    expect(value.byteOffset).toBe(bytes.byteOffset + 16);
  });

  it('refuses out-of-range fields and oversized option values', () => {
    expect(codeOf(() => encodeMessage({ number: 2 ** 32, response: false, type: 1, options: [] }))).toBe(
      'INVALID_FIELD',
    );
    expect(codeOf(() => encodeMessage({ number: 1, response: false, type: 0x8000, options: [] }))).toBe(
      'INVALID_FIELD',
    );
    const huge = { type: 3, mandatory: false, value: new Uint8Array(MAX_OPTION_VALUE_SIZE + 1) };
    expect(codeOf(() => encodeMessage({ number: 1, response: false, type: 1, options: [huge] }))).toBe(
      'TOO_LARGE',
    );
    expect(codeOf(() => Option.DATA.option(new Uint8Array(MAX_OPTION_VALUE_SIZE + 1)))).toBe('TOO_LARGE');
  });

  it('encodes into a caller buffer at an offset', () => {
    const m: Message = { number: 5, response: true, type: 2, options: [Option.SIZE.option(3)] };
    const target = new Uint8Array(64);
    const out = encodeMessage(m, target, 10);
    expect(out.byteOffset).toBe(10);
    expect(decodeMessage(out)).toEqual(decodeMessage(encodeMessage(m)));
    expect(codeOf(() => encodeMessage(m, new Uint8Array(10)))).toBe('TOO_LARGE');
  });

  // Without a target, encodings over 64 octets share slabs (src/internal/bytes.ts): these attack that sharing.
  it('never lets one encoding without a target overwrite or show another', () => {
    fc.assert(
      fc.property(fc.array(messageArb, { minLength: 1, maxLength: 40 }), (messages) => {
        const kept = messages.map((m) => encodeMessage(m));
        const fresh = messages.map((m) => {
          const alone = new Uint8Array(messageSize(m));
          encodeMessage(m, alone);
          return alone;
        });
        // a later encoding into a slab must not touch the octets of one still held
        for (let i = 0; i < 20; i++) encodeMessage(messageOf(200)).fill(0xee);
        kept.forEach((bytes, i) => {
          expect(bytes.length).toBe(messageSize(messages[i]!));
          expect(bytes).toEqual(fresh[i]);
        });
      }),
      { numRuns: 200 },
    );
  });

  it('refuses an offset without a target instead of returning a truncated encoding', () => {
    const m: Message = { number: 5, response: true, type: 2, options: [Option.SIZE.option(3)] };
    expect(codeOf(() => encodeMessage(m, undefined, 4))).toBe('INVALID_FIELD');
    expect(codeOf(() => encodeMessage(messageOf(200), undefined, 4))).toBe('INVALID_FIELD');
  });
});
