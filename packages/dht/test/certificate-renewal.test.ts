// Live certificate renewal (spec xpp-pcan §5.3, docs/decisions/dht-certificate-renewal.md), over real UDP: a peer
// whose certificate is about to expire is given its renewal while it runs; once the old one's window (and the
// allowed skew) is over, it still opens sessions and its ORIGIN-signed writes are accepted. The same peer with its
// old certificate, at the same wall time, is refused both — so the test tells a renewal that works from none.
import { hashKey } from '@xpp/can';
import { systemClock, type Clock } from '@xpp/reliability';
import { afterEach, describe, expect, it } from 'vitest';
import {
  CERTIFICATE_CLOCK_SKEW,
  certificateRefusalOf,
  DhtError,
  OverlayNode,
  RecordKind,
  type PeerCertificate,
} from '@xpp/dht';
import { createTestnet, EXPIRING_SECONDS, TestnetMembership, type Testnet } from '@xpp/dht/testing';
import { recordKey, recordValue } from './overlay-support.js';

let net: Testnet | undefined;
const nodes: OverlayNode[] = [];
afterEach(async () => {
  await Promise.all(nodes.splice(0).map((n) => n.close()));
  await net?.close();
  net = undefined;
});

/** Real timers; a wall clock that a test moves on (certificate windows are the only wall times a node reads). */
function movableClock(): { clock: Clock; skip(ms: number): void } {
  let offset = 0;
  return {
    clock: { ...systemClock, wallNow: () => Date.now() + offset },
    skip: (ms) => {
      offset = ms;
    },
  };
}

/** Past the end of an `expiring` certificate and the skew peers allow it. */
const AFTER_EXPIRY_MS = (EXPIRING_SECONDS + CERTIFICATE_CLOCK_SKEW + 600) * 1000;

async function refusal(operation: Promise<unknown>): Promise<string | undefined> {
  try {
    await operation;
    return undefined;
  } catch (error) {
    return DhtError.is(error) ? `${error.code} ${String(error.status)}` : String(error);
  }
}

/** A key whose owner is not `node` (so that a PUT of it travels, with its ORIGIN, to another peer). */
function remoteKey(t: Testnet, node: OverlayNode): string {
  for (let i = 0; ; i++) {
    const owner = t.ownerOf(hashKey(recordKey(i), t.dimensions));
    if (owner !== undefined && owner !== node) return recordKey(i);
  }
}

describe('live certificate renewal over real UDP', () => {
  it('a peer renewed while it runs keeps opening sessions and writing after its old certificate expired', async () => {
    const wall = movableClock();
    // Refreshes far apart: no revocation re-check (a GET signed by an expired certificate) hangs anybody up.
    net = await createTestnet({
      size: 3,
      network: 'udp',
      dimensions: 2,
      seed: 11,
      nodeOptions: { clock: wall.clock, refreshInterval: 120_000 },
    });
    const t = net;
    const renewing = await t.createCandidate({ certificate: 'expiring' });
    await t.chooseInviter().invite(renewing.ua.contactUri);
    await t.settled({ timeoutMs: 30_000 });
    const old = renewing.certificate as PeerCertificate;
    const key = remoteKey(t, renewing);

    // Control: past the old certificate's end, the peer that kept it can neither write nor set a session up.
    wall.skip(AFTER_EXPIRY_MS);
    expect(await refusal(renewing.put(key, RecordKind.PEER, recordValue(1), 600))).toBe('REMOTE_ERROR 403');
    const callee = await t.createOutsider('valid');
    await expect(renewing.invite(callee.ua.contactUri)).rejects.toThrow();
    expect(callee.stats.refused['certificate-expired']).toBeGreaterThanOrEqual(1);
    expect(callee.state).toBe('candidate');

    // Renewed before its end, as the enrollment path does at two thirds of the validity; then the end passes.
    wall.skip(0);
    const linkedBefore = renewing
      .neighbours()
      .filter((n) => n.linked)
      .map((n) => n.id);
    const renewed = t.membership!.renewal(old);
    renewing.renewCertificate(renewed);
    expect(renewing.certificate).toBe(renewed);
    wall.skip(AFTER_EXPIRY_MS);

    // Its ORIGIN carries the renewed certificate: the owner accepts the write.
    expect(await refusal(renewing.put(key, RecordKind.PEER, recordValue(2), 600))).toBeUndefined();
    // The sessions open at the renewal stayed up.
    const linkedAfter = renewing
      .neighbours()
      .filter((n) => n.linked)
      .map((n) => n.id);
    expect(linkedAfter).toEqual(expect.arrayContaining(linkedBefore));
    // New sessions: it invites a newcomer (its offer's a=xpp-auth), and that newcomer's own newcomer, on the half
    // of the zone next to it, links with it too (whichever side calls, the renewed certificate is checked).
    const joiner = await t.createCandidate();
    await renewing.invite(joiner.ua.contactUri);
    const second = await t.createCandidate();
    await joiner.invite(second.ua.contactUri);
    await t.settled({ timeoutMs: 30_000 });
    expect(joiner.state).toBe('peer');
    for (const n of t.nodes) expect(n.stats.refused['certificate-expired'] ?? 0).toBe(0);
    const linkedNow = renewing.neighbours().filter((n) => n.linked);
    expect(linkedNow.map((n) => n.id)).toContain(joiner.id);
    expect(linkedNow.length).toBeGreaterThan(linkedBefore.length);
  }, 120_000);

  it('refuses a certificate of another key, of another administrator, expired or not newer, with typed errors', async () => {
    const membership = new TestnetMembership();
    const identity = membership.identity(Math.random);
    const node = await OverlayNode.create({ membership: membership.membership(identity, 'expiring') });
    nodes.push(node);
    const inUse = node.certificate as PeerCertificate;
    const reason = (certificate: PeerCertificate): string | undefined => {
      try {
        node.renewCertificate(certificate);
        return undefined;
      } catch (error) {
        return certificateRefusalOf(error) ?? (DhtError.is(error) ? error.code : String(error));
      }
    };

    // A valid certificate, but of another peer's key: presenting it would claim that peer's id.
    expect(reason(membership.certify(membership.identity(Math.random)))).toBe('id-mismatch');
    // This node's key, but signed by an administrator the overlay does not accept.
    expect(reason(membership.renewal(inUse, 'other-admin'))).toBe('bad-signature');
    // Signed by the node itself.
    expect(reason(membership.certify(identity, 'self-signed'))).toBe('bad-signature');
    expect(reason(membership.certify(identity, 'expired'))).toBe('expired');
    expect(reason(membership.certify(identity, 'wrong-domain'))).toBe('wrong-domain');
    // Not newer: the one in use again, or an older one replayed.
    expect(reason(inUse)).toBe('INVALID_ARGUMENT');
    expect(node.certificate).toBe(inUse);

    const renewed = membership.renewal(inUse);
    expect(reason(renewed)).toBeUndefined();
    expect(node.certificate).toBe(renewed);
    expect(reason(inUse)).toBe('INVALID_ARGUMENT');
    expect(node.certificate).toBe(renewed);
  });

  it('a node without membership has no certificate to renew', async () => {
    const membership = new TestnetMembership();
    const node = await OverlayNode.create();
    nodes.push(node);
    expect(node.certificate).toBeUndefined();
    const certificate = membership.certify(membership.identity(Math.random));
    expect(() => node.renewCertificate(certificate)).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    );
  });
});
