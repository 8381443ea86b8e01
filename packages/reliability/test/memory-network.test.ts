import { describe, expect, it } from 'vitest';
import { Operations, type ReliableChannel } from '../src/index.js';
import { FakeClock, MemoryNetwork, memoryChannelPair } from '../src/testing/index.js';
import { collect, equalBytes, payloadMessage } from './helpers.js';
import { Operation, Option } from '@xpp/wire';

describe('in-memory network at scale (same protocol code as over UDP)', () => {
  it('1,000 sessions exchange messages over 5% loss on one fake clock', async () => {
    const clock = new FakeClock();
    const network = new MemoryNetwork({ clock, latency: 20, loss: 0.05, seed: 42 });
    const pairs: [ReliableChannel, ReliableChannel][] = [];
    for (let i = 0; i < 1000; i++) pairs.push(memoryChannelPair(network, { clock }, [`a${i}`, `b${i}`]));
    const received = pairs.map(([, b]) => collect(b));
    let settled = 0;
    const sent = pairs.map(([a, b], i) => {
      // b's own SYN may still be in retransmission when the test closes it: its open() then rejects CLOSED
      a.open().catch(() => {});
      b.open().catch(() => {});
      const messages = [payloadMessage(i, 10 + (i % 50)), payloadMessage(i + 1, 3000 + i)];
      void Promise.all(messages.map((m) => a.send(m))).then(() => settled++);
      return messages;
    });
    for (let t = 0; t < 120_000 && settled < pairs.length; t += 50) {
      clock.advance(50);
      await Promise.resolve();
    }
    expect(settled).toBe(pairs.length);
    received.forEach((got, i) => {
      expect(got).toHaveLength(2);
      got.forEach((r, k) => expect(equalBytes(r.bytes, sent[i]![k]!)).toBe(true));
    });
    expect(network.dropped).toBeGreaterThan(0);
    for (const [a, b] of pairs) {
      a.close();
      b.close();
    }
    expect(clock.pending).toBe(0);
  });

  it('runs operations over the in-memory network', async () => {
    const clock = new FakeClock();
    const network = new MemoryNetwork({ clock, latency: 1 });
    const [a, b] = memoryChannelPair(network, { clock });
    const client = new Operations(a, { clock });
    new Operations(b, { clock });
    const reply = client.request(Operation.PING.type, [Option.DATA.option(new Uint8Array([7]))]);
    clock.advance(10);
    expect([...Option.DATA.require((await reply).options)]).toEqual([7]);
  });
});
