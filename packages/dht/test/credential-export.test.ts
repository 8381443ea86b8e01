// The administrator's export of the overlay's credentials (docs/decisions/node-peer-users.md), over real UDP: one
// walk reaches every owner; what it brings back opens only with the grant's one-time key; a grant that no accepted
// administrator key signed, or out of its window, is refused by every owner.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AdminKeySet,
  createExportGrant,
  decodeCredentialRecord,
  DhtError,
  EXPORT_GRANT_VALIDITY_MS,
  generateAdminKeyPair,
  openExport,
  RecordKind,
  sealExport,
  verifyExportGrant,
} from '@xpp/dht';
import { createTestnet, type Testnet } from '@xpp/dht/testing';

const USERS = 40;
const aor = (i: number): string => `sip:user${i}@testnet.invalid`;

let net: Testnet;
beforeAll(async () => {
  net = await createTestnet({ size: 6, network: 'udp', dimensions: 2, seed: 11, adminStore: true });
  await net.settled({ timeoutMs: 30_000 });
  const membership = net.membership!;
  for (let i = 0; i < USERS; i++)
    await net.nodes[i % net.nodes.length]!.put(
      aor(i),
      RecordKind.CREDENTIAL,
      membership.credential(aor(i), `pw${i}`),
      1,
    );
}, 90_000);
afterAll(() => net?.close());

function aorsOf(pages: readonly Uint8Array[], open: Parameters<typeof openExport>[1]): string[] {
  return pages
    .flatMap((p) => openExport(p, open))
    .map((v) => decodeCredentialRecord(v))
    .flatMap((r) => (r.type === 'credential' ? [r.credential.aor] : []))
    .sort();
}

describe('credential export', () => {
  it('a walk from any peer asks every owner once and brings back every credential, HA1 included', async () => {
    const { grant, openKey } = net.membership!.exportGrant();
    const result = await net.nodes[3]!.exportCredentials(grant);
    expect(result.missed).toEqual([]);
    expect(result.owners).toBe(net.nodes.length);
    const aors = aorsOf(result.pages, openKey);
    expect(aors).toEqual(Array.from({ length: USERS }, (_, i) => aor(i)).sort());
    const first = decodeCredentialRecord(result.pages.flatMap((p) => openExport(p, openKey))[0]!);
    expect(first.type === 'credential' && first.credential.ha1Sha256.length).toBe(32);
  }, 60_000);

  it('pages do not open with another key: a forwarder or a replayer of the grant reads nothing', async () => {
    const { grant } = net.membership!.exportGrant();
    const result = await net.nodes[0]!.exportCredentials(grant);
    const thief = net.membership!.exportGrant().openKey;
    for (const page of result.pages) expect(() => openExport(page, thief)).toThrow(DhtError);
    // A page changed in transit does not open either.
    const { openKey, grant: mine } = net.membership!.exportGrant();
    const page = (await net.nodes[0]!.exportCredentials(mine)).pages[0]!;
    page[page.length - 1]! ^= 1;
    expect(() => openExport(page, openKey)).toThrow(/does not open/);
  }, 60_000);

  it('every owner refuses a grant of another administrator, or out of its window: nothing is exported', async () => {
    const forged = net.membership!.exportGrant(Date.now(), 'other-admin');
    const refused = await net.nodes[1]!.exportCredentials(forged.grant);
    expect(refused.pages).toEqual([]);
    expect(refused.missed.length).toBeGreaterThan(0);
    const old = net.membership!.exportGrant(Date.now() - EXPORT_GRANT_VALIDITY_MS - 60_000);
    expect((await net.nodes[1]!.exportCredentials(old.grant)).pages).toEqual([]);
  }, 60_000);

  it('grant and seal primitives', () => {
    const admin = generateAdminKeyPair();
    const other = generateAdminKeyPair();
    const { grant, openKey } = createExportGrant(admin.privateKey, 1_000_000);
    const key = verifyExportGrant(grant, new AdminKeySet([admin.publicKey]), 1_000_000);
    expect(() => verifyExportGrant(grant, new AdminKeySet([other.publicKey]), 1_000_000)).toThrow(
      expect.objectContaining({ code: 'BAD_SIGNATURE' }),
    );
    const tampered = new Uint8Array(grant);
    tampered[10]! ^= 1; // another one-time key than the administrator signed
    expect(() => verifyExportGrant(tampered, new AdminKeySet([admin.publicKey]), 1_000_000)).toThrow(
      expect.objectContaining({ code: 'BAD_SIGNATURE' }),
    );
    const values = [new Uint8Array([1, 2, 3]), new Uint8Array(0)];
    expect(openExport(sealExport(values, key), openKey)).toEqual(values);
  });
});
