import { describe, expect, it } from 'vitest';
import { type HandlerContext, Operations, type ReliableChannel } from '@xpp/reliability';
import { FakeClock, MemoryNetwork, memoryChannelPair } from '@xpp/reliability/testing';
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

  it("aborts a running handler's signal when the operations close, read before or after the close", async () => {
    const clock = new FakeClock();
    const network = new MemoryNetwork({ clock, latency: 1 });
    const [a, b] = memoryChannelPair(network, { clock });
    const client = new Operations(a, { clock });
    const server = new Operations(b, { clock });
    const contexts: HandlerContext[] = [];
    server.handle(0x4100, (_request, context) => {
      contexts.push(context);
      return new Promise(() => {});
    });
    void client.request(0x4100).catch(() => undefined);
    void client.request(0x4100).catch(() => undefined);
    clock.advance(10);
    await Promise.resolve();
    expect(contexts).toHaveLength(2);
    const early = (contexts[0] as HandlerContext).signal;
    expect(early.aborted).toBe(false);
    server.close();
    expect(early.aborted).toBe(true);
    // Made only now, after the close: aborted all the same.
    expect((contexts[1] as HandlerContext).signal.aborted).toBe(true);
  });

  it('expires each request at its own deadline from one shared timer', async () => {
    const clock = new FakeClock();
    const network = new MemoryNetwork({ clock, latency: 1 });
    const [a, b] = memoryChannelPair(network, { clock });
    const client = new Operations(a, { clock });
    new Operations(b, { clock }).handle(0x4100, () => new Promise(() => {}));
    const failedAt: [string, number][] = [];
    const track = (name: string, timeout: number) =>
      client.request(0x4100, [], { timeout }).catch((e: unknown) => {
        failedAt.push([`${name} ${(e as { code: string }).code}`, clock.now()]);
      });
    const all = [track('slow', 300), track('fast', 100), track('never', Number.POSITIVE_INFINITY)];
    for (let t = 0; t < 400; t += 10) {
      clock.advance(10);
      await Promise.resolve();
    }
    expect(failedAt).toEqual([
      ['fast REQUEST_TIMEOUT', 100],
      ['slow REQUEST_TIMEOUT', 300],
    ]);
    expect(client.stats.requestsInFlight).toBe(1);
    client.close();
    await Promise.all(all);
    expect(failedAt.at(-1)?.[0]).toBe('never CLOSED');
    expect(clock.pending).toBeGreaterThan(0); // the channels' own timers; the operations left none armed
    a.close();
    b.close();
    expect(clock.pending).toBe(0);
  });
});
