import fc from 'fast-check';
import { Flag, decodeFragment, hasFlag } from '@xpp/wire';
import { describe, expect, it } from 'vitest';
import { FragmentError, Fragmenter } from '@xpp/fragment';
import { message } from './helpers.js';

const address = { localId: 0xaaaa, remoteId: 0xbbbb };

describe('Fragmenter', () => {
  it('cuts a reliable message into consecutive REL fragments with LFR only on the last', () => {
    const f = new Fragmenter();
    const m = message(1, 3000);
    const datagrams = f.fragment(m, 0xfffe, address);
    expect(datagrams).toHaveLength(Math.ceil(m.length / 1192));
    const decoded = datagrams.map((d) => decodeFragment(d));
    expect(decoded.map((d) => d.seq)).toEqual([0xfffe, 0xffff, 0]);
    expect(decoded.map((d) => hasFlag(d.flags, Flag.LFR))).toEqual([false, false, true]);
    expect(
      decoded.every((d) => hasFlag(d.flags, Flag.REL) && d.localId === 0xaaaa && d.remoteId === 0xbbbb),
    ).toBe(true);
    expect(datagrams.every((d) => d.length <= 1200)).toBe(true);
    expect(Buffer.concat(decoded.map((d) => d.payload))).toEqual(Buffer.from(m));
  });

  it('uses the whole datagram: a message of exactly one payload is one fragment', () => {
    const f = new Fragmenter({ maxDatagramSize: 576 });
    expect(f.maxPayload).toBe(568);
    expect(f.count(568)).toBe(1);
    expect(f.count(569)).toBe(2);
    expect(f.count(0)).toBe(1);
  });

  it('sends an unreliable message as one LFR datagram without REL, and refuses a larger one', () => {
    const f = new Fragmenter();
    const d = decodeFragment(f.unreliable(message(2, 100), 7, address));
    expect(hasFlag(d.flags, Flag.LFR)).toBe(true);
    expect(hasFlag(d.flags, Flag.REL)).toBe(false);
    expect(d.seq).toBe(7);
    const error = (() => {
      try {
        f.unreliable(new Uint8Array(1193), 7, address);
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(FragmentError.is(error) && error.code === 'TOO_LARGE').toBe(true);
  });

  it.each([575, 65508, 1000.5])('rejects maxDatagramSize %d', (size) => {
    expect(() => new Fragmenter({ maxDatagramSize: size })).toThrow(/maxDatagramSize/);
  });

  it('round-trips any message at any datagram size', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 10_000 }),
        fc.integer({ min: 576, max: 65507 }),
        fc.integer({ min: 0, max: 0xffff }),
        (m, size, seq) => {
          const f = new Fragmenter({ maxDatagramSize: size });
          const datagrams = f.fragment(m, seq, address);
          expect(datagrams.length).toBe(f.count(m.length));
          const joined = Buffer.concat(datagrams.map((d) => decodeFragment(d).payload));
          expect(joined.equals(Buffer.from(m))).toBe(true);
          expect(datagrams.every((d) => d.length <= size)).toBe(true);
        },
      ),
      { numRuns: 200 },
    );
  });
});
