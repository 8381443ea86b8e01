// The overlay id (spec xpp-pcan §4), black box over real UDP: made by the founding peer, taken by every joiner from
// its inviter, and two overlays of the same administrator and domain never link (a fork is refused, not merged).
import { afterEach, describe, expect, it } from 'vitest';
import { createTestnet, type Testnet } from '@xpp/dht/testing';

let net: Testnet | undefined;
afterEach(async () => {
  await net?.close();
  net = undefined;
});

describe('overlay id over real UDP (spec §4)', () => {
  it('a joiner takes its inviter’s id: one id across a 3-peer overlay', async () => {
    net = await createTestnet({ size: 3, network: 'udp', dimensions: 2, seed: 11 });
    await net.settled({ timeoutMs: 30_000 });
    const ids = new Set(net.nodes.map((n) => n.overlayId));
    expect(ids.size).toBe(1);
    expect([...ids][0]).toMatch(/^[0-9a-f]{32}$/);
  });

  it('two one-peer overlays with the same admin key and domain cannot link, either way', async () => {
    net = await createTestnet({ size: 1, network: 'udp', dimensions: 2, seed: 12 });
    const first = net.nodes[0]!;
    // Certified by the same administrator for the same domain: only the overlay id tells the two apart.
    const fork = await net.createOutsider('valid');
    fork.bootstrap();
    expect(fork.overlayId).toMatch(/^[0-9a-f]{32}$/);
    expect(fork.overlayId).not.toBe(first.overlayId);

    await expect(fork.invite(first.ua.contactUri)).rejects.toMatchObject({
      code: 'SIP_REJECTED',
      status: 403,
    });
    expect(first.stats.refused['overlay-mismatch']).toBe(1);
    await expect(first.invite(fork.ua.contactUri)).rejects.toMatchObject({
      code: 'SIP_REJECTED',
      status: 403,
    });
    expect(fork.stats.refused['overlay-mismatch']).toBe(1);
    expect(first.neighbours()).toEqual([]);
    expect(fork.neighbours()).toEqual([]);
    expect(first.endpoint.stats.sessions + fork.endpoint.stats.sessions).toBe(0);
  });
});
