// A rogue built from our own packages (a SIP user agent and an XPP endpoint, nothing of OverlayNode) opens a session
// to a peer and claims zones it may not hold (spec xpp-pcan §5.6). Without `membership` nothing authenticates it:
// the zone-claim checks alone must keep every zone and record where it is.
import { Zone } from '@xpp/can';
import { placeXppCall, SipUserAgent, XppEndpoint, type XppCall } from '@xpp/session-sdp';
import type { XppOption } from '@xpp/wire';
import { afterEach, describe, expect, it } from 'vitest';
import { DhtOperation, DhtOption, OverlayNode, RecordKind, type NeighbourInfo } from '@xpp/dht';
import { encodeHandoff, encodeNeighbourUpdate, encodePut, encodeTakeover } from '../src/messages.js';
import { PeerInfoCodec } from '../src/node/peer-info.js';
import { encodeReplicate, REPLICATE } from '../src/node/replication.js';
import { growOverlay, putRecords, settle, udpNode } from './overlay-support.js';

const dimensions = 2;
const codec = new PeerInfoCodec(dimensions);
const nodes: OverlayNode[] = [];
const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  await Promise.all(closers.splice(0).map((c) => c()));
  await Promise.all(nodes.splice(0).map((n) => n.close()));
});

/** The status a request over the rogue's session ends with ('ok' when served). */
async function status(call: XppCall, type: number, options: readonly XppOption[]): Promise<string | number> {
  return call.session.request(type, options, { timeout: 5_000 }).then(
    () => 'ok',
    (e: { status?: number }) => e.status ?? 'failed',
  );
}

/** A rogue with its own id (the user part of its From) and a session to `victim`; records what it is sent. */
async function rogue(victim: OverlayNode, idByte: number) {
  const peerId = new Uint8Array(16).fill(idByte);
  const id = Buffer.from(peerId).toString('hex');
  const ua = await SipUserAgent.listen({ address: '127.0.0.1', user: id });
  const endpoint = await XppEndpoint.bind({ address: '127.0.0.1' });
  closers.push(async () => {
    await ua.close();
    await endpoint.close();
  });
  const received: string[] = [];
  const call = await placeXppCall(ua, endpoint, victim.ua.contactUri, {
    onSession: (session) => {
      for (const op of [
        DhtOperation.JOIN,
        DhtOperation.LEAVE,
        REPLICATE,
        DhtOperation.PUT,
        DhtOperation.ROUTE,
      ])
        session.handle(op.type, () => (received.push(op.name), []));
      session.handle(DhtOperation.NEIGHBOUR_UPDATE.type, () => []);
    },
  });
  const entry = (zones: readonly Zone[], version: number): NeighbourInfo => ({
    peerId,
    zones: codec.encodeZones(zones),
    contact: { uri: ua.contactUri, candidates: [] },
    version,
  });
  return { id, peerId, call, received, entry };
}

describe('zone claims (spec §5.6) against a rogue over real UDP', () => {
  it('a rogue that claims the whole space obtains no zone and no record, as a caller or as a neighbour', async () => {
    const peers = (
      await growOverlay(
        4,
        () => udpNode({ dimensions }),
        3,
        (m) => nodes.push(m.node),
      )
    ).map((m) => m.node);
    await settle(peers);
    await putRecords(peers, 40);
    await settle(peers, 'the records replicated');
    const victim = peers[0]!;
    const zonesBefore = victim.zones.map((z) => z.path);
    const recordsBefore = peers.map((p) => p.store.stats.records);
    const root = Zone.root(dimensions);

    // As a caller the victim does not know: the lowest id there is (it would keep all in a double-ownership repair).
    const low = await rogue(victim, 0x00);
    const nu = DhtOperation.NEIGHBOUR_UPDATE.type;
    expect(await status(low.call, nu, encodeNeighbourUpdate({ neighbours: [low.entry([root], 1e6)] }))).toBe(
      403,
    );
    // In another's name: a neighbour of the victim "announcing" the whole space.
    const other = victim.neighbours()[0]!;
    const forged = { ...low.entry([root], 1e6), peerId: Buffer.from(other.id, 'hex') };
    expect(await status(low.call, nu, encodeNeighbourUpdate({ neighbours: [forged] }))).toBe(403);
    // Nothing else is served to a caller that is not a neighbour.
    const rootZones = codec.encodeZones([root]);
    for (const [type, options] of [
      [
        DhtOperation.LEAVE.type,
        encodeHandoff({ zones: rootZones, neighbours: [low.entry([], 2)], records: [] }),
      ],
      [
        DhtOperation.TAKEOVER.type,
        encodeTakeover({ deadPeer: Buffer.from(other.id, 'hex'), zones: rootZones }),
      ],
      [REPLICATE.type, encodeReplicate({ zones: rootZones, records: [] })],
      [
        DhtOperation.PUT.type,
        encodePut({ key: 'k', kind: RecordKind.PEER, value: new Uint8Array(4), lifetime: 60, replica: true }),
      ],
    ] as const)
      expect(await status(low.call, type, options)).toBe(403);
    expect(victim.stats.refused['claim-overlaps-own']).toBe(1);
    expect(victim.stats.refused['claim-not-sender']).toBe(1);

    // As a neighbour: it claims the zone of a peer that abuts the victim (unverifiable here, counted), is listed,
    // then claims more. A high id, and not the victim's sibling, so it is nobody's preferred replica holder.
    const abutting = victim
      .neighbours()
      .find((n) => n.zones.length === 1 && !n.zones[0]!.equals(victim.zones[0]!.sibling()))!;
    const high = await rogue(victim, 0xff);
    const claimed = abutting.zones[0]!;
    expect(
      await status(high.call, nu, encodeNeighbourUpdate({ neighbours: [high.entry([claimed], 1)] })),
    ).toBe('ok');
    expect(victim.neighbours().some((n) => n.id === high.id)).toBe(true);
    expect(victim.stats.refused['claim-unverified']).toBeGreaterThanOrEqual(1);
    // The whole space, in its own name: refused (it overlaps the victim's zone), and it stays as it was.
    expect(await status(high.call, nu, encodeNeighbourUpdate({ neighbours: [high.entry([root], 2)] }))).toBe(
      403,
    );
    expect(
      victim
        .neighbours()
        .find((n) => n.id === high.id)
        ?.zones.map((z) => z.path),
    ).toEqual([claimed.path]);
    // A TAKEOVER of a neighbour's zone beyond what that neighbour holds, and one whose claimer is somebody else.
    const claim = [...encodeTakeover({ deadPeer: Buffer.from(other.id, 'hex'), zones: rootZones })];
    expect(
      await status(high.call, DhtOperation.TAKEOVER.type, [
        ...claim,
        DhtOption.NEIGHBOUR.option(high.entry([claimed], 1), true),
      ]),
    ).toBe(403);
    expect(
      await status(high.call, DhtOperation.TAKEOVER.type, [
        ...claim,
        DhtOption.NEIGHBOUR.option(forged, true),
      ]),
    ).toBe(403);
    // A LEAVE handing the victim a zone the rogue never announced; a REPLICATE of one; a replica write outside its zone.
    const elsewhere = victim
      .neighbours()
      .find((n) => n.id !== high.id && n.id !== abutting.id && n.zones.length > 0);
    const foreign = codec.encodeZones(elsewhere === undefined ? [root] : elsewhere.zones);
    expect(
      await status(
        high.call,
        DhtOperation.LEAVE.type,
        encodeHandoff({ zones: foreign, neighbours: [high.entry([claimed], 3)], records: [] }),
      ),
    ).toBeGreaterThanOrEqual(400);
    expect(
      await status(high.call, REPLICATE.type, encodeReplicate({ zones: foreign, records: [] })),
    ).toBeGreaterThanOrEqual(400);
    // The victim keeps serving, owns what it owned, and every record is where it was.
    expect(victim.zones.map((z) => z.path)).toEqual(zonesBefore);
    expect(OverlayNode.tiling(peers).ok).toBe(true);
    expect(peers.map((p) => p.store.stats.records)).toEqual(recordsBefore);
    expect(low.received).toEqual([]);
    expect(high.received.filter((op) => op === 'JOIN' || op === 'LEAVE')).toEqual([]);
    expect(victim.stats.refused['claim-foreign-zone']).toBeGreaterThanOrEqual(1);
    expect(victim.stats.refused['claim-overlaps-own']).toBe(2);
    expect(await victim.get('none', RecordKind.PEER)).toEqual([]);
  }, 60_000);

  it('a resumed peer’s zones are open to a repair only within its recall window: after it a lower id’s claim is refused', async () => {
    // The window (node-peer-rejoin.md): 2^5 claim timeouts after resume(); 20 ms here, so 640 ms.
    const made = await udpNode({ dimensions, overlayId: new Uint8Array(16).fill(7), claimTimeout: 20 });
    const victim = made.node;
    nodes.push(victim);
    const root = Zone.root(dimensions);
    victim.resume({ zones: [root], version: 5, neighbours: [] });
    await new Promise((resolve) => setTimeout(resolve, 800));
    const low = await rogue(victim, 0x00);
    const update = encodeNeighbourUpdate({ neighbours: [low.entry([root], 1e6)] });
    expect(await status(low.call, DhtOperation.NEIGHBOUR_UPDATE.type, update)).toBe(403);
    expect(victim.stats.refused['claim-overlaps-own']).toBe(1);
    expect(victim.zones.map((z) => z.path)).toEqual([root.path]);
    expect(victim.state).toBe('peer');
  });
});
