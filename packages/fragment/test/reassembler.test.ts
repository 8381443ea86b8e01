import fc from 'fast-check';
import { encodeMessage } from '@xpp/wire';
import { describe, expect, it } from 'vitest';
import { FragmentError, Fragmenter, HELD_FRAGMENT_OVERHEAD, Reassembler, seqAdd } from '@xpp/fragment';
import { FakeClock } from '@xpp/fragment/testing';
import { message, pieces, type Piece } from './helpers.js';

function setup(initialSeq: number, options: Partial<ConstructorParameters<typeof Reassembler>[0]> = {}) {
  const out: Uint8Array[] = [];
  const clock = new FakeClock();
  const r = new Reassembler({
    initialSeq,
    clock,
    onMessage: (m) => out.push(Uint8Array.from(m)),
    ...options,
  });
  const feed = (list: readonly Piece[]) => list.map((p) => r.accept(p.seq, p.last, p.payload));
  return { r, out, clock, feed };
}

describe('Reassembler', () => {
  it('releases in-order messages across the sequence wrap', () => {
    const messages = [message(1, 10), message(2, 5000), message(3, 0), message(4, 2500)];
    const { out, feed, r } = setup(0xfffa);
    expect(feed(pieces(messages, 0xfffa)).every((x) => x === 'accepted')).toBe(true);
    expect(out).toEqual(messages);
    expect(r.nextSeq).toBe(seqAdd(0xfffa, pieces(messages, 0).length));
    expect(r.stats.heldFragments).toBe(0);
    expect(r.partialDeadline()).toBeUndefined();
  });

  it('reorders, re-acknowledges duplicates (before and after release) and releases in order', () => {
    const messages = [message(1, 3000), message(2, 20)];
    const list = pieces(messages, 0xfffe);
    const { out, feed, r } = setup(0xfffe);
    const [a, b, c, d] = list as [Piece, Piece, Piece, Piece];
    expect(feed([d, c, c, b])).toEqual(['accepted', 'accepted', 'duplicate', 'accepted']);
    expect(out).toEqual([]);
    expect(r.stats.heldFragments).toBe(3);
    expect(feed([a, a, d])).toEqual(['accepted', 'duplicate', 'duplicate']);
    expect(out).toEqual(messages);
    expect(r.stats).toMatchObject({ messages: 2, duplicates: 3, heldFragments: 0, heldOctets: 0 });
  });

  it('drops, without holding, a fragment that would exceed the receive window, and takes it once there is room', () => {
    const list = pieces([message(1, 5000)], 100);
    const window = 2 * (1192 + HELD_FRAGMENT_OVERHEAD);
    const { out, feed, r } = setup(100, { receiveWindow: window });
    expect(feed([list[1]!, list[2]!, list[3]!])).toEqual(['accepted', 'accepted', 'dropped']);
    expect(r.stats.drops['window-full']).toBe(1);
    expect(r.stats.heldOctets).toBeLessThanOrEqual(window);
    // the in-order fragment is never held, so the window cannot deadlock
    expect(feed([list[0]!, list[3]!, list[4]!])).toEqual(['accepted', 'accepted', 'accepted']);
    expect(out).toHaveLength(1);
  });

  it('drops sequence numbers beyond maxFragmentsAhead and treats the half behind as duplicates', () => {
    const { r } = setup(0, { maxFragmentsAhead: 100 });
    expect(r.accept(100, false, new Uint8Array(1))).toBe('dropped');
    expect(r.accept(99, false, new Uint8Array(1))).toBe('accepted');
    expect(r.accept(0x8000, false, new Uint8Array(1))).toBe('duplicate');
    expect(r.stats.drops['out-of-window']).toBe(1);
  });

  it('refuses an announced length over maxMessageSize before buffering and skips that message to its LFR', () => {
    const fragmenter = new Fragmenter();
    const big = message(1, 10_000);
    const small = message(2, 3);
    const { out, feed, r } = setup(0, { maxMessageSize: 5000 });
    const list = pieces([big, small], 0, fragmenter);
    feed(list.slice(0, 3));
    expect(r.stats.partialOctets).toBe(0);
    feed(list.slice(3));
    expect(out).toEqual([small]);
    expect(r.stats.drops['message-too-large']).toBe(1);
  });

  it('drops messages whose fragments disagree with their announced length, and a truncated header', () => {
    const { out, r } = setup(0);
    const header = encodeMessage({ number: 1, response: false, type: 1, options: [] });
    const lying = Uint8Array.from(header);
    lying[11] = 50; // announces 50 octets of options, none follow
    expect(r.accept(0, true, lying)).toBe('accepted');
    expect(r.accept(1, false, header.subarray(0, 5))).toBe('accepted'); // truncated header, not last: skip to LFR
    expect(r.accept(2, true, new Uint8Array(3000))).toBe('accepted');
    // endless fragments after a complete-length first piece: dropped as soon as they exceed the announcement
    expect(r.accept(3, false, lying)).toBe('accepted');
    expect(r.accept(4, false, new Uint8Array(1192))).toBe('accepted');
    expect(r.stats.partialOctets).toBe(0);
    expect(r.accept(5, true, new Uint8Array(1))).toBe('accepted');
    expect(r.accept(6, true, header)).toBe('accepted');
    expect(out).toEqual([header]);
    expect(r.stats.drops).toMatchObject({ 'length-mismatch': 2, 'truncated-header': 1 });
  });

  it('times a partial message out after 30 s without a new fragment, on the injected clock', () => {
    const list = pieces([message(1, 3000)], 0);
    const { r, clock } = setup(0);
    expect(r.checkTimeout()).toBeUndefined();
    r.accept(list[0]!.seq, list[0]!.last, list[0]!.payload);
    clock.advance(20_000);
    r.accept(list[2]!.seq, list[2]!.last, list[2]!.payload);
    expect(r.partialDeadline()).toBe(50_000);
    clock.advance(29_999);
    expect(r.checkTimeout()).toBeUndefined();
    clock.advance(1);
    const error = r.checkTimeout();
    expect(FragmentError.is(error) && error.code === 'PARTIAL_TIMEOUT').toBe(true);
    r.reset();
    expect(r.stats).toMatchObject({ heldFragments: 0, heldOctets: 0, partialOctets: 0 });
    expect(r.partialDeadline()).toBeUndefined();
  });

  it('property: any shuffle with duplicates releases every message exactly once, in order, byte-identical', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 6000 }), { minLength: 1, maxLength: 12 }),
        fc.integer({ min: 0, max: 0xffff }),
        fc.integer({ min: 576, max: 2000 }),
        fc.infiniteStream(fc.nat()),
        (sizes, initialSeq, datagramSize, randoms) => {
          const messages = sizes.map((s, i) => message(i, s));
          const list = pieces(messages, initialSeq, new Fragmenter({ maxDatagramSize: datagramSize }));
          const it = randoms[Symbol.iterator]();
          const rand = (n: number) => (it.next().value as number) % n;
          const shuffled = [...list, ...list.filter(() => rand(4) === 0)];
          for (let i = shuffled.length - 1; i > 0; i--) {
            const j = rand(i + 1);
            [shuffled[i], shuffled[j]] = [shuffled[j]!, shuffled[i]!];
          }
          const { out, feed, r } = setup(initialSeq);
          feed(shuffled);
          expect(out.length).toBe(messages.length);
          out.forEach((m, i) => expect(Buffer.from(m).equals(messages[i]!)).toBe(true));
          expect(r.stats.heldOctets).toBe(0);
        },
      ),
      { numRuns: 150 },
    );
  });

  it('property: hostile input never throws and never exceeds its bounds', () => {
    const window = 64 * 1024;
    const maxMessageSize = 20_000;
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            seq: fc.oneof(fc.integer({ min: 0, max: 0xffff }), fc.integer({ min: 0, max: 40 })),
            last: fc.boolean(),
            payload: fc.oneof(
              fc.uint8Array({ maxLength: 1192 }),
              fc.constant(encodeMessage({ number: 1, response: false, type: 1, options: [] })),
              fc.integer({ min: 0, max: 0xffffffff }).map((n) => {
                const head = new Uint8Array(1192);
                new DataView(head.buffer).setUint32(8, n);
                return head;
              }),
            ),
          }),
          { maxLength: 300 },
        ),
        (list) => {
          const { r, feed } = setup(0, { receiveWindow: window, maxMessageSize });
          for (const result of feed(list)) expect(['accepted', 'duplicate', 'dropped']).toContain(result);
          expect(r.stats.heldOctets).toBeLessThanOrEqual(window);
          expect(r.stats.partialOctets).toBeLessThanOrEqual(maxMessageSize);
        },
      ),
      { numRuns: 300 },
    );
  });
});
