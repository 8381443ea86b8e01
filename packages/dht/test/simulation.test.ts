import { areNeighbours } from '@xpp/can';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OverlayNode, peerRecordCodec, RecordKind } from '../src/index.js';
import { createTestnet, type Testnet } from '../src/testing/index.js';

// 1,000 peers in one process over the in-memory network: the very OverlayNode, SIP user agent, XPP endpoint and
// secured sessions that run over UDP, only the datagram transport differs. Stages share one overlay, in order.
const PEERS = 1000;
const RECORDS = 1000;
const D = 4;

let net: Testnet;
const figures: Record<string, number> = {};
const started = performance.now();
const rssBefore = process.memoryUsage().rss;

const key = (i: number) => `sip:user${i}@example.org`;
const uri = (i: number) => `sip:user${i}@192.0.2.${i % 250}:5060`;
const value = (i: number) =>
  peerRecordCodec.encode({
    peerId: Uint8Array.of(i >> 8, i & 0xff),
    contact: { uri: uri(i), candidates: [] },
  });

/** ROUTE requests served, over every live peer: each is one hop of some routed operation. */
function routeHops(): number {
  return net.nodes.reduce((sum, n) => sum + (n.stats.operations['ROUTE ok'] ?? 0), 0);
}

beforeAll(async () => {
  net = await createTestnet({ size: PEERS, network: 'memory', dimensions: D, seed: 11 });
  figures['growMs'] = Math.round(performance.now() - started);
}, 120_000);

afterAll(async () => {
  figures['rssPerPeerMB'] = Number(((process.memoryUsage().rss - rssBefore) / PEERS / 2 ** 20).toFixed(3));
  figures['totalMs'] = Math.round(performance.now() - started);
  await net?.close();
  console.info(`simulation ${JSON.stringify(figures)}`);
});

describe(`simulation: ${PEERS} peers on the in-memory network, the same node code as over UDP`, () => {
  it('grows by invitations into an exact tiling where every peer links exactly its geometric neighbours', async () => {
    await net.settled({ timeoutMs: 30_000 });
    expect(net.size).toBe(PEERS);
    expect(net.tiling()).toMatchObject({ ok: true, zones: PEERS, overlaps: 0 });
    const byId = new Map(net.nodes.map((n) => [n.id, n]));
    // Collected, then asserted once: a million expect() calls would cost more than the check.
    const wrong: string[] = [];
    let links = 0;
    for (const node of net.nodes) {
      const table = node.neighbours();
      const listed = new Set(table.map((n) => n.id));
      for (const other of net.nodes) {
        if (other === node) continue;
        const touching = node.zones.some((a) => other.zones.some((b) => areNeighbours(a, b)));
        if (listed.has(other.id) !== touching) wrong.push(`${node.id} lists ${other.id}: ${!touching}`);
      }
      for (const n of table) {
        if (!n.linked) wrong.push(`${node.id} → ${n.id} not linked`);
        if (
          byId
            .get(n.id)
            ?.neighbours()
            .some((m) => m.id === node.id) !== true
        )
          wrong.push(`${n.id} does not list ${node.id} back`);
      }
      links += listed.size;
    }
    expect(wrong).toEqual([]);
    figures['meanNeighbours'] = Number((links / PEERS).toFixed(2));
    // CAN: about 2d neighbours per peer (more where zone sizes differ).
    expect(links / PEERS).toBeGreaterThan(2 * D * 0.75);
    expect(links / PEERS).toBeLessThan(2 * D * 2);
  }, 60_000);

  it(`serves ${RECORDS} PUTs then GETs from random peers, each found, in about (d/4)·n^(1/d) hops`, async () => {
    const hopsBefore = routeHops();
    for (let i = 0; i < RECORDS; i++)
      expect(await net.randomNode().put(key(i), RecordKind.PEER, value(i), 600)).toBe(600);
    for (let i = 0; i < RECORDS; i++) {
      const found = await net.randomNode().get(key(i), RecordKind.PEER);
      expect(found.map((r) => peerRecordCodec.decode(r.value).contact.uri)).toEqual([uri(i)]);
    }
    const meanHops = (routeHops() - hopsBefore) / (2 * RECORDS);
    const expected = (D / 4) * PEERS ** (1 / D);
    figures['meanHops'] = Number(meanHops.toFixed(2));
    figures['expectedHops'] = Number(expected.toFixed(2));
    expect(meanHops).toBeGreaterThan(expected * 0.6);
    expect(meanHops).toBeLessThan(expected * 1.4);
    expect(net.nodes.reduce((sum, n) => sum + n.store.stats.records, 0)).toBeGreaterThanOrEqual(RECORDS);
  }, 60_000);
});
