import { areNeighbours } from '@xpp/can';
import { MemoryNetwork, seededRandom } from '@xpp/reliability/testing';
import { MemoryTransport } from '@xpp/session-sdp/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { DhtError, OverlayNode, peerRecordCodec, RecordKind } from '../src/index.js';

const nodes: OverlayNode[] = [];
afterEach(async () => {
  await Promise.all(nodes.splice(0).map((n) => n.close()));
});

async function growOverlay(
  count: number,
  make: (i: number) => Promise<OverlayNode>,
  seed = 1,
): Promise<OverlayNode[]> {
  const random = seededRandom(seed);
  const grown: OverlayNode[] = [];
  for (let i = 0; i < count; i++) {
    const node = await make(i);
    nodes.push(node);
    if (i === 0) node.bootstrap();
    else {
      const inviter = grown[Math.floor(random() * grown.length)]!;
      await inviter.invite(node.ua.contactUri);
    }
    grown.push(node);
  }
  return grown;
}

function checkStructure(overlay: OverlayNode[]): void {
  const tiling = OverlayNode.tiling(overlay);
  expect(tiling.ok).toBe(true);
  const byId = new Map(overlay.map((n) => [n.id, n]));
  for (const node of overlay) {
    expect(node.state).toBe('peer');
    for (const n of node.neighbours()) {
      // Every neighbour entry is a real neighbour, linked, and knows us back.
      const other = byId.get(n.id)!;
      expect(node.zones.some((a) => other.zones.some((b) => areNeighbours(a, b)))).toBe(true);
      expect(n.linked).toBe(true);
      expect(other.neighbours().some((m) => m.id === node.id)).toBe(true);
    }
    // …and every real neighbour is in the table.
    for (const other of overlay) {
      if (other === node) continue;
      const touching = node.zones.some((a) => other.zones.some((b) => areNeighbours(a, b)));
      expect(node.neighbours().some((m) => m.id === other.id)).toBe(touching);
    }
  }
}

async function putAndGetEverywhere(overlay: OverlayNode[], records: number, seed = 2): Promise<void> {
  const random = seededRandom(seed);
  const pick = () => overlay[Math.floor(random() * overlay.length)]!;
  const contact = (i: number) => `sip:peer${i}@192.0.2.${i % 250}:5060`;
  const value = (i: number) =>
    peerRecordCodec.encode({
      peerId: Uint8Array.of(i >> 8, i & 0xff),
      contact: { uri: contact(i), candidates: [] },
    });
  for (let i = 0; i < records; i++) {
    expect(await pick().put(`sip:user${i}@example.org`, RecordKind.PEER, value(i), 600)).toBe(600);
  }
  for (let i = 0; i < records; i++) {
    const found = await pick().get(`sip:user${i}@example.org`, RecordKind.PEER);
    expect(found.map((r) => peerRecordCodec.decode(r.value).contact.uri)).toEqual([contact(i)]);
  }
  const stored = overlay.reduce((sum, n) => sum + n.stats.records, 0);
  expect(stored).toBe(records);
}

describe('OverlayNode (in-memory network, the same stack as UDP)', () => {
  it('grows from one peer by invitations into an exact tiling with symmetric, linked neighbours', async () => {
    const network = new MemoryNetwork();
    const overlay = await growOverlay(16, (i) =>
      OverlayNode.create({
        dimensions: 2,
        transports: {
          sip: new MemoryTransport(network, { address: `10.0.0.${i + 1}`, port: 5060 }),
          xpp: new MemoryTransport(network, { address: `10.0.0.${i + 1}`, port: 5070 }),
        },
      }),
    );
    checkStructure(overlay);
    await putAndGetEverywhere(overlay, 150);
  }, 60_000);

  it('refuses a JOIN from a peer and an INVITE from a stranger', async () => {
    const network = new MemoryNetwork();
    const make = (i: number) =>
      OverlayNode.create({
        transports: {
          sip: new MemoryTransport(network, { address: `10.0.1.${i + 1}`, port: 5060 }),
          xpp: new MemoryTransport(network, { address: `10.0.1.${i + 1}`, port: 5070 }),
        },
      });
    const [a, b] = await growOverlay(2, make);
    // b is a peer now: a second invitation (an uninvited JOIN) is refused.
    const again = await a!.invite(b!.ua.contactUri).catch((e: unknown) => e);
    expect(again).toBeInstanceOf(Error);
    expect(b!.stats.refused['uninvited-invite']).toBe(1);
    const stranger = await make(9);
    nodes.push(stranger);
    stranger.bootstrap();
    await expect(stranger.invite(a!.ua.contactUri)).rejects.toMatchObject({ code: 'SIP_REJECTED' });
    expect(DhtError.is(await b!.get('x', RecordKind.PEER).catch((e: unknown) => e))).toBe(false);
  });
});

describe('OverlayNode over real UDP on loopback', () => {
  it('grows to 40 peers and serves PUT/GET of 1,000 records from any of them', async () => {
    const overlay = await growOverlay(40, () => OverlayNode.create({ dimensions: 4 }), 5);
    checkStructure(overlay);
    await putAndGetEverywhere(overlay, 1000, 6);
  }, 60_000);
});
