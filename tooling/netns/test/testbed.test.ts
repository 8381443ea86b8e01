import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import type { ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNatTestbed, type NatTestbed } from '../src/index.js';

const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));

async function output(child: ChildProcess): Promise<string> {
  let out = '';
  child.stdout?.on('data', (chunk: Buffer) => (out += chunk.toString()));
  let err = '';
  child.stderr?.on('data', (chunk: Buffer) => (err += chunk.toString()));
  const [code] = (await once(child, 'exit')) as [number | null];
  if (code !== 0) throw new Error(`child exited ${code}: ${err}`);
  return out;
}

async function ready(child: ChildProcess): Promise<void> {
  await new Promise<void>((resolve) => {
    child.stdout?.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('ready')) resolve();
    });
  });
}

// Not skipped when namespaces are unavailable: createNatTestbed throws, and the suite fails loudly.
describe('NAT testbed (network namespaces, nftables masquerade)', () => {
  let bed: NatTestbed;
  beforeAll(() => {
    bed = createNatTestbed({
      hosts: 3,
      mappings: ['endpoint-independent', 'endpoint-independent', 'address-dependent'],
    });
  });
  afterAll(() => bed?.destroy());

  it('opens a UDP path between two NATed hosts by simultaneous sends, each seen at its NAT address', async () => {
    const [h1] = bed.hosts;
    const server = bed.spawnIn(bed.server.ns, process.execPath, [
      fixture('rendezvous.mjs'),
      bed.server.address,
      '4000',
    ]);
    await ready(server);
    const peer = bed.spawnIn(h1!.ns, process.execPath, [
      fixture('peer.mjs'),
      'a',
      bed.server.address,
      '4000',
      '5000',
    ]);
    const peer2 = bed.spawnIn(bed.hosts[1]!.ns, process.execPath, [
      fixture('peer.mjs'),
      'b',
      bed.server.address,
      '4000',
      '5000',
    ]);
    const [out1, out2] = await Promise.all([output(peer), output(peer2)]);
    server.kill();
    const a = JSON.parse(out1) as { received: boolean; from: string; peer: { address: string } };
    const b = JSON.parse(out2) as { received: boolean; from: string; peer: { address: string } };
    // Simultaneous open through both NATs: each got the other's punch, from the other NAT's public address.
    expect(a.received).toBe(true);
    expect(b.received).toBe(true);
    expect(a.peer.address).toBe(bed.hosts[1]!.natAddress);
    expect(b.peer.address).toBe(bed.hosts[0]!.natAddress);
    expect(a.from.split(':')[0]).toBe(bed.hosts[1]!.natAddress);
  });

  it('drops unsolicited inbound traffic (no mapping, no entry)', { timeout: 20_000 }, async () => {
    // The listener waits well past the blast: nothing may arrive, not even the end marker.
    const [h1, h2] = bed.hosts;
    const listener = bed.spawnIn(h1!.ns, process.execPath, [fixture('listen.mjs'), '5001', '6000']);
    await ready(listener);
    const blaster = bed.spawnIn(h2!.ns, process.execPath, [
      fixture('blast.mjs'),
      h1!.natAddress,
      '5001',
      '50',
    ]);
    const [result] = await Promise.all([output(listener), output(blaster)]);
    expect(JSON.parse(result.split('\n').filter(Boolean).at(-1)!)).toEqual({ count: 0 });
  });

  it('reaches the server directly from a host, and can drop packets on the public network at random', async () => {
    const [h1] = bed.hosts;
    const run = async () => {
      const listener = bed.spawnIn(bed.server.ns, process.execPath, [fixture('listen.mjs'), '5002', '15000']);
      await ready(listener);
      const blaster = bed.spawnIn(h1!.ns, process.execPath, [
        fixture('blast.mjs'),
        bed.server.address,
        '5002',
        '200',
      ]);
      const [result] = await Promise.all([output(listener), output(blaster)]);
      return (JSON.parse(result.split('\n').filter(Boolean).at(-1)!) as { count: number }).count;
    };
    expect(await run()).toBe(200);
    bed.setPublicLoss(50);
    const lossy = await run();
    bed.setPublicLoss(0);
    // 200 datagrams at 50% loss: binomial, 4.9 standard deviations either side.
    expect(lossy).toBeGreaterThan(65);
    expect(lossy).toBeLessThan(135);
    expect(await run()).toBe(200);
  });

  it('maps endpoint-independently behind one NAT, address-dependently behind the other', async () => {
    const reflector = bed.spawnIn(bed.server.ns, process.execPath, [
      fixture('reflect.mjs'),
      bed.server.address,
      '4100',
      '4101',
    ]);
    await ready(reflector);
    const probe = async (ns: string) =>
      Object.values(
        JSON.parse(
          await output(
            bed.spawnIn(ns, process.execPath, [fixture('probe.mjs'), bed.server.address, '4100', '4101']),
          ),
        ) as Record<string, string>,
      );
    const [eim, adm] = [await probe(bed.hosts[0]!.ns), await probe(bed.hosts[2]!.ns)];
    reflector.kill();
    expect(bed.hosts.map((h) => h.mapping)).toEqual([
      'endpoint-independent',
      'endpoint-independent',
      'address-dependent',
    ]);
    // One socket, two destinations: the same public address and port, or a different port for each.
    expect(eim[0]).toBe(eim[1]);
    expect(eim[0]!.split(':')[0]).toBe(bed.hosts[0]!.natAddress);
    expect(adm[0]!.split(':')[0]).toBe(bed.hosts[2]!.natAddress);
    expect(adm[0]).not.toBe(adm[1]);
  });
});
