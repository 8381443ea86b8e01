import { describe, expect, it } from 'vitest';
import {
  decodeFragment,
  encodeFragment,
  encodeFragmentHeader,
  Flag,
  flagsFromObject,
  flagsToObject,
  fragmentSize,
  hasFlag,
  MAX_DATAGRAM_SIZE,
} from '@xpp/wire';
import { codeOf } from './helpers.js';

const base = { flags: Flag.REL, seq: 1, localId: 2, remoteId: 3 };

describe('fragment codec', () => {
  it('decodes the payload as a view into the datagram, without copying', () => {
    const datagram = encodeFragment({ ...base, payload: Uint8Array.of(9, 8, 7) });
    const f = decodeFragment(datagram);
    expect(f.payload.buffer).toBe(datagram.buffer);
    expect(f.payload.byteOffset).toBe(datagram.byteOffset + 8);
    expect([...f.payload]).toEqual([9, 8, 7]);
  });

  it('encodes into a caller buffer at an offset and returns exactly the written view', () => {
    const target = new Uint8Array(32).fill(0xee);
    const out = encodeFragment({ ...base, payload: Uint8Array.of(1) }, target, 5);
    expect(out.length).toBe(9);
    expect(out.byteOffset).toBe(5);
    expect(target[4]).toBe(0xee);
    expect(target[14]).toBe(0xee);
    expect(decodeFragment(out).seq).toBe(1);
  });

  it('refuses a caller buffer without room', () => {
    expect(codeOf(() => encodeFragment(base, new Uint8Array(7)))).toBe('TOO_LARGE');
    expect(codeOf(() => encodeFragmentHeader(base, new Uint8Array(10), 3))).toBe('TOO_LARGE');
    expect(codeOf(() => encodeFragment(base, undefined, 3))).toBe('INVALID_FIELD');
  });

  it('encodes without a target into a view of its own, also when slabs are shared (over 64 octets)', () => {
    const payload = new Uint8Array(200).fill(0x42);
    const first = encodeFragment({ ...base, payload });
    encodeFragment({ ...base, payload: new Uint8Array(200).fill(0x99) }).fill(0xff);
    expect(first.length).toBe(208);
    expect(decodeFragment(first).payload).toEqual(payload);
  });

  it('accepts the largest UDP payload and refuses one octet more', () => {
    const max = new Uint8Array(MAX_DATAGRAM_SIZE);
    max[0] = 0x10;
    expect(decodeFragment(max).payload.length).toBe(MAX_DATAGRAM_SIZE - 8);
    expect(codeOf(() => decodeFragment(new Uint8Array(MAX_DATAGRAM_SIZE + 1).fill(0x10)))).toBe('TOO_LARGE');
    expect(codeOf(() => encodeFragment({ ...base, payload: new Uint8Array(MAX_DATAGRAM_SIZE - 7) }))).toBe(
      'TOO_LARGE',
    );
    expect(fragmentSize({ ...base, payload: new Uint8Array(MAX_DATAGRAM_SIZE - 8) })).toBe(MAX_DATAGRAM_SIZE);
  });

  it.each([
    ['seq', { ...base, seq: 0x10000 }],
    ['seq', { ...base, seq: -1 }],
    ['seq', { ...base, seq: 1.5 }],
    ['localId', { ...base, localId: 0x10000 }],
    ['remoteId', { ...base, remoteId: Number.NaN }],
    ['flags', { ...base, flags: 0x20 }],
    ['version', { ...base, version: 16 }],
  ])('refuses an out-of-range %s with INVALID_FIELD', (_field, init) => {
    expect(codeOf(() => encodeFragment(init))).toBe('INVALID_FIELD');
  });

  it('maps flags to and from their readable form', () => {
    expect(flagsToObject(Flag.SYN | Flag.KPA)).toEqual({
      syn: true,
      ack: false,
      rel: false,
      lfr: false,
      kpa: true,
    });
    expect(flagsFromObject({ ack: true, lfr: true })).toBe(Flag.ACK | Flag.LFR);
    expect(hasFlag(Flag.SYN | Flag.REL, Flag.REL)).toBe(true);
    expect(hasFlag(Flag.SYN, Flag.SYN | Flag.REL)).toBe(false);
  });
});
