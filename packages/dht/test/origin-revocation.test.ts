// A routed write's ORIGIN is checked for revocation (spec xpp-pcan §5.3, §5.6), black box over real UDP: the revoked
// peer's links still stand (no refresh has run), it writes to a key owned by a peer it has no link to, so no
// session setup ever checked it there — only the owner's ORIGIN check can refuse it.
import { hashKey } from '@xpp/can';
import { afterEach, describe, expect, it } from 'vitest';
import { DhtError, RecordKind, revocationKey, type OverlayNode } from '@xpp/dht';
import { createTestnet, type Testnet } from '@xpp/dht/testing';
import { recordKey, recordValue } from './overlay-support.js';

let net: Testnet | undefined;
afterEach(async () => {
  await net?.close();
  net = undefined;
});

/**
 * A peer and the holder of its revocation key that is not its neighbour: that holder knows the revocation once it
 * is stored, and the peer's writes reach it through a third peer, so no session setup of theirs checks it.
 */
function apart(t: Testnet): [OverlayNode, OverlayNode] {
  for (const a of t.nodes) {
    const b = t.ownerOf(hashKey(revocationKey(a.id), 2));
    if (b !== undefined && b !== a && !a.neighbours().some((n) => n.id === b.id)) return [a, b];
  }
  throw new Error('no peer apart from the holder of its revocation: another seed');
}

async function refusal(write: Promise<unknown>): Promise<string | undefined> {
  try {
    await write;
    return undefined;
  } catch (error) {
    return DhtError.is(error) ? `${error.code} ${String(error.status)}` : String(error);
  }
}

describe('ORIGIN revocation check over real UDP', () => {
  it('an owner that knows a peer revoked refuses its routed writes, though the certificate holds', async () => {
    // Refreshes far apart: no neighbour re-checks the revoked peer during the test, its links stay up.
    net = await createTestnet({
      size: 8,
      network: 'udp',
      dimensions: 2,
      seed: 7,
      nodeOptions: { refreshInterval: 120_000 },
    });
    const t = net;
    await t.settled({ timeoutMs: 30_000 });
    const [revoked, owner] = apart(t);
    let i = 0;
    while (t.ownerOf(hashKey(recordKey(i), 2)) !== owner) i++;
    const other = t.nodes.find((n) => n !== revoked && n !== owner)!;
    await other.put(
      revocationKey(revoked.id),
      RecordKind.REVOCATION,
      t.membership!.revocation(revoked.peerId),
      1,
    );

    expect(owner.store.get(revocationKey(revoked.id), RecordKind.REVOCATION)).toHaveLength(1);
    for (let k = 0; k < 3; k++)
      expect(await refusal(revoked.put(recordKey(i), RecordKind.PEER, recordValue(i + 1), 600))).toBe(
        'REMOTE_ERROR 403',
      );
    expect(owner.stats.refused['certificate-revoked']).toBeGreaterThanOrEqual(3);
    // Not by hanging up: the revoked peer is still linked to its neighbours, and the others write on.
    expect(revoked.neighbours().some((n) => n.linked)).toBe(true);
    expect(await refusal(other.put(recordKey(i), RecordKind.PEER, recordValue(i), 600))).toBeUndefined();
  }, 90_000);
});
