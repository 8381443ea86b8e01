import { MemoryNetwork, waitFor } from '@xpp/reliability/testing';
import { MemoryTransport } from '@xpp/session-sdp/testing';
import { placeXppCall, SipUserAgent, XppEndpoint } from '@xpp/session-sdp';
import { afterEach, describe, expect, it } from 'vitest';
import { DhtError, OverlayNode, RecordKind } from '@xpp/dht';
import { meanHops } from '../src/node/counters.js';
import {
  checkStructure,
  growOverlay,
  missingRecords,
  primaries,
  putRecords,
  replicaProblems,
  settle,
  udpNode,
} from './overlay-support.js';

const nodes: OverlayNode[] = [];
afterEach(async () => {
  await Promise.all(nodes.splice(0).map((n) => n.close()));
});
const track = (made: { node: OverlayNode }) => nodes.push(made.node);

function memoryNode(
  network: MemoryNetwork,
  i: number,
  subnet = 0,
  options: { overlayId?: Uint8Array } = {},
): Promise<{ node: OverlayNode }> {
  return OverlayNode.create({
    ...options,
    dimensions: 2,
    transports: {
      sip: new MemoryTransport(network, { address: `10.0.${subnet}.${i + 1}`, port: 5060 }),
      xpp: new MemoryTransport(network, { address: `10.0.${subnet}.${i + 1}`, port: 5070 }),
    },
  }).then((node) => ({ node }));
}

describe('OverlayNode (in-memory network, the same stack as UDP)', () => {
  it('grows from one peer by invitations into an exact tiling with symmetric, linked neighbours', async () => {
    const network = new MemoryNetwork();
    const overlay = (await growOverlay(16, (i) => memoryNode(network, i), 1, track)).map((m) => m.node);
    await settle(overlay);
    checkStructure(overlay);
    await putRecords(overlay, 150);
    expect(await missingRecords(overlay, 150)).toEqual([]);
    expect(primaries(overlay)).toBe(150);
    await settle(overlay, 'replicas of 150 records');
  }, 60_000);

  it('refuses a JOIN from a peer and from a stranger (without membership nothing refuses its INVITE)', async () => {
    const network = new MemoryNetwork();
    const [a, b] = (await growOverlay(2, (i) => memoryNode(network, i, 1), 1, track)).map((m) => m.node);
    // b is a peer now: a second invitation (an uninvited JOIN) is refused.
    const again = await a!.invite(b!.ua.contactUri).catch((e: unknown) => e);
    expect(again).toBeInstanceOf(Error);
    expect(b!.stats.refused['uninvited-invite']).toBe(1);
    // In a's overlay (same id), so that the JOIN itself is what is refused, not the session (overlay-id.test.ts).
    const { node: stranger } = await memoryNode(network, 9, 1, {
      overlayId: Buffer.from(a!.overlayId as string, 'hex'),
    });
    nodes.push(stranger);
    stranger.bootstrap();
    // Without `membership` a caller is who its From header says: the stranger gets a session, not a zone.
    await expect(stranger.invite(a!.ua.contactUri)).rejects.toMatchObject({ status: 403 });
    expect(a!.stats.refused['uninvited-join']).toBe(1);
    expect(OverlayNode.tiling([a!, b!]).ok).toBe(true);
    expect(DhtError.is(await b!.get('x', RecordKind.PEER).catch((e: unknown) => e))).toBe(false);
  });
});

describe('OverlayNode over real UDP on loopback', () => {
  it('a candidate whose first invitation brought no JOIN can still be invited by a peer', async () => {
    const { node: peer } = await udpNode();
    const { node: candidate } = await udpNode();
    nodes.push(peer, candidate);
    peer.bootstrap();
    // Someone opens an XPP session to the candidate by SIP and goes away without a JOIN.
    const ua = await SipUserAgent.listen({ address: '127.0.0.1' });
    const endpoint = await XppEndpoint.bind({ address: '127.0.0.1' });
    try {
      const call = await placeXppCall(ua, endpoint, candidate.ua.contactUri);
      await call.hangUp();
    } finally {
      await ua.close();
      await endpoint.close();
    }
    expect(candidate.state).toBe('candidate');
    const joined = await peer.invite(candidate.ua.contactUri);
    expect(joined.peerId).toBe(candidate.id);
    expect(candidate.state).toBe('peer');
    expect(OverlayNode.tiling([peer, candidate]).ok).toBe(true);
  });

  it('grows to 40 peers, serves PUT/GET of 1,000 records from any of them in about (d/4)·n^(1/d) hops, with 2 replicas each', async () => {
    const zoneChanges: string[] = [];
    const ups: string[] = [];
    const overlay = (
      await growOverlay(
        40,
        async () => {
          const node = await OverlayNode.create({ dimensions: 4 });
          node.on('zone-change', (e) => zoneChanges.push(e.cause));
          node.on('neighbour-up', (e) => ups.push(e.id));
          return { node };
        },
        5,
        track,
      )
    ).map((m) => m.node);
    await settle(overlay);
    checkStructure(overlay);
    // Every join changes two peers' zones (the inviter's and the newcomer's), and opens links.
    expect(zoneChanges.filter((c) => c === 'invite')).toHaveLength(39);
    expect(zoneChanges.filter((c) => c === 'join')).toHaveLength(39);
    expect(ups.length).toBeGreaterThanOrEqual(2 * 39);

    await putRecords(overlay, 1000, 6);
    expect(await missingRecords(overlay, 1000, 7)).toEqual([]);
    expect(primaries(overlay)).toBe(1000);
    await settle(overlay, 'replicas of 1,000 records');
    expect(replicaProblems(overlay, 2)).toEqual([]);
    expect(overlay.reduce((sum, n) => sum + n.stats.recordsByRole.replica, 0)).toBe(2000);

    // Hops of the requests each node started: greedy CAN routing takes about (d/4)·n^(1/d) hops.
    const histogram: number[] = [];
    for (const node of overlay) node.stats.hops.forEach((n, h) => (histogram[h] = (histogram[h] ?? 0) + n));
    expect(histogram.reduce((a, b) => a + (b ?? 0), 0)).toBe(2000);
    const expected = (4 / 4) * 40 ** (1 / 4);
    const mean = meanHops(histogram.map((n) => n ?? 0));
    expect(mean).toBeGreaterThan(0.5 * expected);
    expect(mean).toBeLessThan(2 * expected);
    const requests = overlay.reduce((sum, n) => sum + (n.stats.requests['GET ok'] ?? 0), 0);
    expect(requests).toBe(1000);
  }, 120_000);

  it('restores a replica holder that lost its copy: the owner checks a digest of each zone on refresh', async () => {
    const overlay = (
      await growOverlay(
        6,
        async () => ({ node: await OverlayNode.create({ dimensions: 2, refreshInterval: 300 }) }),
        8,
        track,
      )
    ).map((m) => m.node);
    await putRecords(overlay, 60, 9);
    await settle(overlay, 'replicas of 60 records');
    const before = overlay.reduce((sum, n) => sum + n.stats.replication.checked, 0);
    // A holder loses its replicas without the owners hearing of it: only the digest check can tell them.
    const holder = overlay.find((n) => n.stats.recordsByRole.replica > 0) as OverlayNode;
    const lost = holder.store.extract((r) => r.role === 'replica').length;
    expect(lost).toBeGreaterThan(0);
    expect(replicaProblems(overlay, 2)).not.toEqual([]);
    await waitFor(() => replicaProblems(overlay, 2).length === 0, {
      what: 'the lost replicas sent again',
      timeoutMs: 10_000,
    });
    expect(holder.stats.recordsByRole.replica).toBe(lost);
    expect(holder.stats.refused['replicas-differ']).toBeGreaterThanOrEqual(1);
    expect(overlay.reduce((sum, n) => sum + n.stats.replication.differed, 0)).toBeGreaterThanOrEqual(1);
    // Holders in step answer the checks without a copy: they go on, each refresh.
    expect(overlay.reduce((sum, n) => sum + n.stats.replication.checked, 0)).toBeGreaterThan(before);
  }, 60_000);
});
