import { hashKey } from '@xpp/can';
import { MemoryNetwork } from '@xpp/reliability/testing';
import { MemoryTransport } from '@xpp/session-sdp/testing';
import { fileURLToPath } from 'node:url';
import { readmeExamples } from '@xpp/test-kit';
import { afterEach, describe, expect, it } from 'vitest';
import { DhtError, peerRecordCodec, RecordKind } from '@xpp/dht';
import {
  createTestnet,
  ImpairedTransport,
  TestnetError,
  waitFor,
  type Testnet,
  type TestnetOptions,
} from '@xpp/dht/testing';

const open: Testnet[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((t) => t.close()));
});

async function testnet(options: TestnetOptions): Promise<Testnet> {
  const t = await createTestnet(options);
  open.push(t);
  return t;
}

const peerValue = (i: number) =>
  peerRecordCodec.encode({
    peerId: Uint8Array.of(i),
    contact: { uri: `sip:p${i}@192.0.2.1`, candidates: [] },
  });

describe('createTestnet (in-memory network)', () => {
  it('grows from one bootstrap peer by invitations into a settled, exact tiling', async () => {
    const net = await testnet({ size: 24, dimensions: 2, seed: 3 });
    expect(net.size).toBe(24);
    await net.settled({ timeoutMs: 20_000 });
    expect(net.tiling()).toMatchObject({ ok: true, zones: 24, overlaps: 0 });
    for (const node of net.nodes) expect(node.state).toBe('peer');
    // Every random point has its owner, and a record put anywhere is read back anywhere.
    expect(net.ownerOf(net.randomPoint())).toBeDefined();
    await net.randomNode().put('sip:alice@example.org', RecordKind.PEER, peerValue(1), 60);
    const found = await net.randomNode().get('sip:alice@example.org', RecordKind.PEER);
    expect(found).toHaveLength(1);
  }, 60_000);

  it('grows the same overlay from the same seed, another from another seed', async () => {
    const zonesOf = (t: Testnet) => t.nodes.map((n) => n.zones.map((z) => z.toString()).join()).join(' ');
    const [a, b, c] = await Promise.all([
      testnet({ size: 12, dimensions: 3, seed: 7 }),
      testnet({ size: 12, dimensions: 3, seed: 7 }),
      testnet({ size: 12, dimensions: 3, seed: 8 }),
    ]);
    expect(zonesOf(a!)).toBe(zonesOf(b!));
    expect(zonesOf(a!)).not.toBe(zonesOf(c!));
    expect(a!.nodes.map((n) => n.id)).toEqual(b!.nodes.map((n) => n.id));
  }, 60_000);

  it('largest-zone invitations grow equal zones', async () => {
    const net = await testnet({ size: 16, dimensions: 2, inviter: 'largest-zone' });
    expect(new Set(net.nodes.map((n) => n.stats.volume))).toEqual(new Set([1 / 16]));
  }, 60_000);

  it('crash silences a node at once: nothing more leaves it, requests to its zone fail', async () => {
    const net = await testnet({ size: 8, dimensions: 2, nodeOptions: { requestTimeout: 2000 } });
    await net.settled();
    const victim = net.nodes[3]!;
    const { sip, xpp } = net.transportsOf(victim)!;
    const sentBefore = sip.stats.sent + xpp.stats.sent;
    await net.crash(victim);
    expect(victim.state).toBe('closed');
    expect(net.size).toBe(7);
    expect(net.nodes).not.toContain(victim);
    expect(sip.isCut && xpp.isCut).toBe(true);
    // A hole until a neighbour takes the zone over: a GET of a key in it finds nobody to answer.
    expect(net.tiling().ok).toBe(false);
    let key = 0;
    while (!victim.zones.some((z) => z.contains(hashKey(`k${key}`, 2)))) key++;
    await expect(net.nodes[0]!.get(`k${key}`, RecordKind.PEER)).rejects.toSatisfy((e) => DhtError.is(e));
    expect(sip.stats.sent + xpp.stats.sent).toBe(sentBefore);
    await expect(net.crash(victim)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  }, 60_000);

  it('refuses a bad size and times out a condition that never holds', async () => {
    await expect(createTestnet({ size: 0 })).rejects.toSatisfy((e) => TestnetError.is(e, 'INVALID_ARGUMENT'));
    await expect(waitFor(() => false, { timeoutMs: 50, what: 'nothing' })).rejects.toSatisfy((e) =>
      TestnetError.is(e, 'TIMEOUT'),
    );
    const aborted = AbortSignal.abort(new Error('stop'));
    await expect(waitFor(() => false, { signal: aborted })).rejects.toThrow('stop');
  });
});

describe('createTestnet over real UDP on loopback', () => {
  it('grows 8 peers with their own sockets and serves PUT/GET', async () => {
    const net = await testnet({ size: 8, network: 'udp', dimensions: 2 });
    await net.settled({ timeoutMs: 20_000 });
    expect(net.memory).toBeUndefined();
    const ports = new Set(net.nodes.map((n) => n.endpoint.address.port));
    expect(ports.size).toBe(8);
    for (const n of net.nodes) expect(n.endpoint.address.address).toBe('127.0.0.1');
    for (let i = 0; i < 20; i++) await net.randomNode().put(`k${i}`, RecordKind.PEER, peerValue(i), 60);
    for (let i = 0; i < 20; i++) expect(await net.randomNode().get(`k${i}`, RecordKind.PEER)).toHaveLength(1);
  }, 60_000);
});

describe('ImpairedTransport', () => {
  function pair(loss: number, seed: number) {
    const network = new MemoryNetwork();
    const a = new ImpairedTransport(new MemoryTransport(network, { address: 'a', port: 1 }), { loss, seed });
    const b = new MemoryTransport(network, { address: 'b', port: 1 });
    let received = 0;
    b.setReceiver(() => received++);
    return { a, b, received: () => received };
  }

  it('loses the configured fraction of datagrams, the same ones for the same seed', async () => {
    const runs = [pair(0.05, 9), pair(0.05, 9)];
    for (const run of runs)
      for (let i = 0; i < 10_000; i++) run.a.send(Uint8Array.of(i & 0xff), { address: 'b', port: 1 });
    await waitFor(() => runs.every((r) => r.received() === r.a.stats.sent));
    const [first, second] = runs;
    expect(first!.a.stats.lost).toBeGreaterThan(400);
    expect(first!.a.stats.lost).toBeLessThan(600);
    expect(second!.a.stats).toEqual(first!.a.stats);
    expect(first!.received()).toBe(10_000 - first!.a.stats.lost);
  });

  it('after a cut, nothing goes out or comes in, and send does not throw', async () => {
    const { a, b, received } = pair(0, 1);
    let got = 0;
    a.setReceiver(() => got++);
    await a.cut();
    expect(a.isCut).toBe(true);
    expect(() => a.send(Uint8Array.of(1), { address: 'b', port: 1 })).not.toThrow();
    b.send(Uint8Array.of(2), { address: 'a', port: 1 });
    await new Promise((resolve) => setImmediate(resolve));
    expect(received()).toBe(0);
    expect(got).toBe(0);
    expect(a.stats.cut).toBe(1);
    expect(() => new ImpairedTransport(b, { loss: 1 })).toThrow(RangeError);
  });
});

describe('README', () => {
  it('runs the testnet example against the built package with the output its comments claim', () => {
    const example = readmeExamples(fileURLToPath(new URL('..', import.meta.url))).find((e) =>
      e.code.includes("'@xpp/dht/testing'"),
    );
    expect(example).toBeDefined();
    expect(example!.run({ timeoutMs: 60_000 })).toBe(`${example!.promised.join('\n')}\n`);
    expect(example!.promised).toEqual(['16 true', 'sip:alice@192.0.2.1', '15']);
  }, 90_000);
});
