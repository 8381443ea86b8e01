// Admission = a valid certificate (spec xpp-pcan §5.4–5.5), black box over real UDP: outsiders of every kind call a
// peer, and a node waiting as a candidate, many times; every call is refused and nothing changes hands.
import { placeXppCall, SipUserAgent, XppEndpoint, type SessionAuthenticator } from '@xpp/session-sdp';
import { afterEach, describe, expect, it } from 'vitest';
import { RecordKind, revocationKey, type OverlayNode } from '@xpp/dht';
import { createTestnet, type Testnet, type TestnetCertificate } from '@xpp/dht/testing';
import { recordKey, recordValue } from './overlay-support.js';

const CALLS = 4;
let net: Testnet | undefined;
const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  await Promise.all(closers.splice(0).map((c) => c()));
  await net?.close();
  net = undefined;
});

/** Outsiders that run our own OverlayNode with a certificate of their kind (or none at all). */
const NODE_OUTSIDERS: readonly (TestnetCertificate | 'none')[] = [
  'none',
  'self-signed',
  'other-admin',
  'expired',
  'wrong-domain',
];

/** What a peer holds: its zones, neighbours and records, to compare before and after the attacks. */
function snapshot(nodes: readonly OverlayNode[]) {
  return nodes.map((n) => ({
    state: n.state,
    zones: n.zones.map((z) => z.path),
    neighbours: n
      .neighbours()
      .map((m) => m.id)
      .sort(),
    records: n.store.stats.records,
  }));
}

/** A rogue of its own making: a SIP user agent named `user` and an XPP endpoint, signing with `auth`. */
async function rogueCall(uri: string, user: string, auth: SessionAuthenticator | undefined) {
  const ua = await SipUserAgent.listen({ address: '127.0.0.1', user });
  const endpoint = await XppEndpoint.bind({ address: '127.0.0.1' });
  closers.push(async () => {
    await ua.close();
    await endpoint.close();
  });
  return placeXppCall(ua, endpoint, uri, auth === undefined ? {} : { auth });
}

async function certifiedNet(refreshInterval = 30_000): Promise<Testnet> {
  net = await createTestnet({
    size: 4,
    network: 'udp',
    dimensions: 2,
    seed: 7,
    nodeOptions: { refreshInterval },
  });
  await net.settled({ timeoutMs: 30_000 });
  for (let i = 0; i < 12; i++) await net.randomNode().put(recordKey(i), RecordKind.PEER, recordValue(i), 600);
  await net.settled({ timeoutMs: 30_000 });
  return net;
}

describe('admission by certificate over real UDP (spec §5.4)', () => {
  it('refuses every outsider, every time: 403, no session, no zone, no record, and the peer keeps serving', async () => {
    const t = await certifiedNet();
    const victim = t.nodes[1]!;
    const before = snapshot(t.nodes);
    const refusedBefore = victim.endpoint.stats.authRefused;
    for (const certificate of NODE_OUTSIDERS) {
      const outsider = await t.createOutsider(certificate);
      outsider.bootstrap();
      for (let i = 0; i < CALLS; i++)
        await expect(outsider.invite(victim.ua.contactUri), certificate).rejects.toMatchObject({
          code: 'SIP_REJECTED',
        });
      expect(outsider.neighbours()).toEqual([]);
    }
    // Rogues of their own making: a valid certificate of another key (its id does not match the key that signs),
    // and a self-signed one whose SIP From names a real neighbour of the victim (headers name nobody).
    const membership = t.membership!;
    const neighbour = victim.neighbours()[0]!.id;
    const rogue = membership.identity(Math.random);
    for (let i = 0; i < CALLS; i++) {
      await expect(
        rogueCall(victim.ua.contactUri, rogue.id, membership.authenticator(rogue, 'id-mismatch')),
      ).rejects.toMatchObject({ code: 'SIP_REJECTED' });
      await expect(
        rogueCall(victim.ua.contactUri, neighbour, membership.authenticator(rogue, 'self-signed')),
      ).rejects.toMatchObject({ code: 'SIP_REJECTED' });
      await expect(rogueCall(victim.ua.contactUri, neighbour, undefined)).rejects.toMatchObject({
        code: 'SIP_REJECTED',
      });
    }
    const attempts = (NODE_OUTSIDERS.length + 3) * CALLS;
    expect(victim.endpoint.stats.authRefused - refusedBefore).toBe(attempts);
    const refused = victim.stats.refused;
    for (const reason of ['bad-signature', 'expired', 'wrong-domain', 'bad-transcript-signature'])
      expect(refused[`certificate-${reason}`], reason).toBeGreaterThanOrEqual(CALLS);
    // Nothing changed hands; every record still reads back, from the victim too.
    expect(snapshot(t.nodes)).toEqual(before);
    expect(t.tiling().ok).toBe(true);
    for (let i = 0; i < 12; i++) expect(await victim.get(recordKey(i), RecordKind.PEER)).toHaveLength(1);
  }, 120_000);

  it('a candidate refuses outsiders’ invitations and joins when a certified peer invites it', async () => {
    const t = await certifiedNet();
    const candidate = await t.createCandidate();
    for (const certificate of NODE_OUTSIDERS) {
      const outsider = await t.createOutsider(certificate);
      outsider.bootstrap();
      for (let i = 0; i < CALLS; i++)
        await expect(outsider.invite(candidate.ua.contactUri), certificate).rejects.toMatchObject({
          code: 'SIP_REJECTED',
        });
    }
    expect(candidate.state).toBe('candidate');
    expect(candidate.endpoint.stats.authRefused).toBe(NODE_OUTSIDERS.length * CALLS);
    const { peerId } = await t.nodes[0]!.invite(candidate.ua.contactUri);
    expect(peerId).toBe(candidate.id);
    await t.settled({ timeoutMs: 30_000 });
    expect(t.isServing(candidate)).toBe(true);
  }, 120_000);

  it('hangs up a revoked neighbour within a refresh interval, everywhere', async () => {
    const refresh = 1_500;
    const t = await certifiedNet(refresh);
    const revoked = t.nodes[2]!;
    const revocation = t.membership!.revocation(revoked.peerId);
    await t.nodes[0]!.put(revocationKey(revoked.id), RecordKind.REVOCATION, revocation, 1);
    const others = t.nodes.filter((n) => n !== revoked);
    await t.waitFor(() => others.every((n) => n.neighbours().every((m) => m.id !== revoked.id)), {
      timeoutMs: 3 * refresh + 5_000,
    });
    expect(others.reduce((sum, n) => sum + (n.stats.refused['revoked-neighbour'] ?? 0), 0)).toBeGreaterThan(
      0,
    );
  }, 60_000);
});
