import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RecordKind } from '@xpp/dht';
import { createTestnet, workloadRecord, workloadUri, type Testnet } from '@xpp/dht/testing';

// 20 peers over real UDP on loopback, every datagram each of them sends (SIP and XPP) lost with probability 5%:
// a lossy path in front of every socket. The node does nothing special; SIP retransmits its transactions and XPP
// sessions retransmit their messages.
const PEERS = 20;
const RECORDS = 1000;
const LOSS = 0.05;

let net: Testnet;
beforeAll(async () => {
  net = await createTestnet({ size: PEERS, network: 'udp', dimensions: 4, seed: 21, loss: LOSS });
}, 120_000);
afterAll(() => net?.close());

describe(`${PEERS} peers over UDP with ${LOSS * 100}% datagram loss`, () => {
  it('grow into an exact tiling with every neighbour linked', async () => {
    await net.settled({ timeoutMs: 150_000 });
    expect(net.tiling().ok).toBe(true);
  }, 180_000);

  it(`serve ${RECORDS} PUTs then GETs from random peers, every one succeeding`, async () => {
    const lostBefore = net.traffic().lost;
    const ms: number[] = [];
    const timed = async <T>(op: () => Promise<T>): Promise<T> => {
      const start = performance.now();
      const result = await op();
      ms.push(performance.now() - start);
      return result;
    };
    for (let i = 0; i < RECORDS; i++)
      expect(
        await timed(() =>
          net.randomNode().put(workloadRecord(i).key, RecordKind.PEER, workloadRecord(i).value, 600),
        ),
      ).toBe(600);
    for (let i = 0; i < RECORDS; i++) {
      const found = await timed(() => net.randomNode().get(workloadRecord(i).key, RecordKind.PEER));
      expect(found.map((r) => workloadUri(r.value))).toEqual([workloadRecord(i).uri]);
    }
    ms.sort((a, b) => a - b);
    const at = (q: number) => Number((ms[Math.floor(q * (ms.length - 1))] ?? 0).toFixed(1));
    const traffic = net.traffic();
    // The loss was real: about 5% of what was sent during the workload never arrived.
    const lost = traffic.lost - lostBefore;
    expect(lost).toBeGreaterThan(0);
    expect(traffic.lost / (traffic.sent + traffic.lost)).toBeGreaterThan(LOSS * 0.7);
    expect(traffic.lost / (traffic.sent + traffic.lost)).toBeLessThan(LOSS * 1.3);
    console.info(
      `lossy ${JSON.stringify({
        ...traffic,
        workloadLost: lost,
        failedInvitations: net.failedInvitations,
        opP50Ms: at(0.5),
        opP99Ms: at(0.99),
        opMaxMs: at(1),
      })}`,
    );
  }, 120_000);
});
