import { hashKey } from '@xpp/can';
import { seededRandom } from '@xpp/reliability/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { peerRecordCodec, RecordKind, type OverlayNode } from '@xpp/dht';
import { FAST, growOverlay, recordKey, recordValue, settle, udpNode } from './overlay-support.js';

// Issue #18 item 1, spec §4: a PUT 200 means the write is committed at its owner and at its replica holders, so that
// the owner may crash the moment it answered — no settle wait in between — and the record is still found.

const all: OverlayNode[] = [];
afterEach(async () => {
  await Promise.all(all.splice(0).map((n) => n.close()));
});

describe('a 200 survives the crash of the owner right after it', () => {
  it('finds every acknowledged record after the owner crashed in the turn of its answer', async () => {
    const ids = seededRandom(1801);
    const members = await growOverlay(
      5,
      () => udpNode({ ...FAST, peerId: Uint8Array.from({ length: 16 }, () => Math.floor(ids() * 256)) }),
      18,
      (m) => all.push(m.node),
    );
    await settle(members.map((m) => m.node));
    const owner = members[2]!;
    const other = members.find((m) => m !== owner)!;
    const owned: number[] = [];
    for (let i = 0; owned.length < 12; i++)
      if (owner.node.zones.some((z) => z.contains(hashKey(recordKey(i), owner.node.dimensions))))
        owned.push(i);
    const put = (by: typeof owner, i: number) =>
      by.node.put(recordKey(i), RecordKind.PEER, recordValue(i), 600);

    // Half written by a peer whose answer comes over the overlay, half by the owner itself: its own PUTs resolve in
    // the turn the holders' answers arrive, and the crash cuts its sockets in that same turn.
    await Promise.all(owned.slice(0, 6).map((i) => put(other, i)));
    const lifetimes = await Promise.all(owned.slice(6).map((i) => put(owner, i)));
    await owner.crash(); // its sockets are cut before this turn ends: nothing it had not sent yet leaves
    expect(lifetimes).toEqual(Array(6).fill(600));
    await owner.node.close();

    const live = members.filter((m) => m !== owner).map((m) => m.node);
    await settle(live, 'the takeover of the crashed owner');
    const missing: number[] = [];
    for (const i of owned) {
      const found = await live[i % live.length]!.get(recordKey(i), RecordKind.PEER);
      const uri = found.length === 1 ? peerRecordCodec.decode(found[0]!.value).contact.uri : undefined;
      if (uri !== peerRecordCodec.decode(recordValue(i)).contact.uri) missing.push(i);
    }
    expect(missing).toEqual([]);
  }, 120_000);
});
