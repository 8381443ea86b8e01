import { areNeighbours, hashKey } from '@xpp/can';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RecordKind, type OverlayNode } from '@xpp/dht';
import { createTestnet, workloadRecord, workloadUri, type Testnet } from '@xpp/dht/testing';

// 1,000 peers in one process over the in-memory network: the very OverlayNode, SIP user agent, XPP endpoint and
// secured sessions that run over UDP, only the datagram transport differs. Stages share one overlay, in order.
const PEERS = Number(process.env['SIM_PEERS'] ?? 1000);
const RECORDS = Number(process.env['SIM_RECORDS'] ?? 1000);
const D = 4;
/** Another seed grows another overlay and churns other peers (a failure seen in CI replays with its seed). */
const SEED = Number(process.env['SIM_SEED'] ?? 11);
const CHURN = 0.3;
const REPLICAS = 2;
/**
 * Crash detection within ~15 s (a keepalive after 5 s idle, dead after 2 misses) and quick takeover timers. Faster
 * keepalives cost too much CPU here: every one of the ~10,000 sessions of the overlay sends them.
 */
const TIMERS = {
  keepaliveInterval: 5000,
  keepaliveMisses: 2,
  takeover: { unitMs: 300, maxMs: 1500 },
  claimTimeout: 1000,
  replicas: REPLICAS,
};
/** Crashes are waited for (keepalives must notice them): at most this many, the rest of the churn leaves. */
const MAX_CRASHES = 40;

let net: Testnet;
const figures: Record<string, number> = {};
const started = performance.now();
const rssBefore = process.memoryUsage().rss;

/**
 * Takes `count` peers out with `act`, in rounds of peers two hops apart, waiting after each round for the overlay to
 * settle into an exact tiling. Returns the number of rounds.
 */
async function inRounds(count: number, act: (node: OverlayNode) => Promise<void>): Promise<number> {
  let rounds = 0;
  for (let done = 0; done < count; rounds++) {
    const group = net.independentPeers(count - done);
    await Promise.all(group.map(act));
    done += group.length;
    await net.settled({ timeoutMs: 90_000, pendingWork: false });
    expect(net.tiling().ok).toBe(true);
  }
  return rounds;
}

/** ROUTE requests served, over every live peer: each is one hop of some routed operation. */
function routeHops(): number {
  return net.nodes.reduce((sum, n) => sum + (n.stats.operations['ROUTE ok'] ?? 0), 0);
}

beforeAll(async () => {
  net = await createTestnet({
    size: PEERS,
    network: 'memory',
    dimensions: D,
    seed: SEED,
    nodeOptions: TIMERS,
    // Certified (every session authenticated, every write signed) unless SIM_CERTIFIED=0. Each peer looks up its
    // ~2d neighbours' revocations every 5 minutes instead of every refresh: the lookups of 1,000 hosts run in this
    // one process (at the 30 s default they were ~10,000 routed GETs per refresh, and requests timed out).
    certified: process.env['SIM_CERTIFIED'] !== '0',
    revocationCheckInterval: 300_000,
  });
  figures['growMs'] = Math.round(performance.now() - started);
  figures['failedInvitations'] = net.failedInvitations;
}, 900_000);

afterAll(async () => {
  figures['rssPerPeerMB'] = Number(((process.memoryUsage().rss - rssBefore) / PEERS / 2 ** 20).toFixed(3));
  figures['totalMs'] = Math.round(performance.now() - started);
  await net?.close();
  console.info(`simulation ${JSON.stringify(figures)}`);
});

describe(`simulation: ${PEERS} peers on the in-memory network, the same node code as over UDP`, () => {
  it('grows by invitations into an exact tiling where every peer links exactly its geometric neighbours', async () => {
    await net.settled({ timeoutMs: 30_000 });
    expect(net.size).toBe(PEERS);
    expect(net.tiling()).toMatchObject({ ok: true, zones: PEERS, overlaps: 0 });
    const byId = new Map(net.nodes.map((n) => [n.id, n]));
    // Collected, then asserted once: a million expect() calls would cost more than the check.
    const wrong: string[] = [];
    let links = 0;
    for (const node of net.nodes) {
      const table = node.neighbours();
      const listed = new Set(table.map((n) => n.id));
      for (const other of net.nodes) {
        if (other === node) continue;
        const touching = node.zones.some((a) => other.zones.some((b) => areNeighbours(a, b)));
        if (listed.has(other.id) !== touching) wrong.push(`${node.id} lists ${other.id}: ${!touching}`);
      }
      for (const n of table) {
        if (!n.linked) wrong.push(`${node.id} → ${n.id} not linked`);
        if (
          byId
            .get(n.id)
            ?.neighbours()
            .some((m) => m.id === node.id) !== true
        )
          wrong.push(`${n.id} does not list ${node.id} back`);
      }
      links += listed.size;
    }
    expect(wrong).toEqual([]);
    figures['meanNeighbours'] = Number((links / PEERS).toFixed(2));
    // CAN: about 2d neighbours per peer (more where zone sizes differ).
    expect(links / PEERS).toBeGreaterThan(2 * D * 0.75);
    expect(links / PEERS).toBeLessThan(2 * D * 2);
  }, 60_000);

  it(`serves ${RECORDS} PUTs then GETs from random peers, each found, in about (d/4)·n^(1/d) hops`, async () => {
    for (let i = 0; i < RECORDS; i++)
      expect(
        await net.randomNode().put(workloadRecord(i).key, RecordKind.PEER, workloadRecord(i).value, 600),
      ).toBe(600);
    // Hops are counted over the GETs: a PUT's owner also looks up the writer's revocation (a routed GET of its own,
    // not awaited), which would count as hops of the PUT.
    const hopsBefore = routeHops();
    for (let i = 0; i < RECORDS; i++) {
      const found = await net.randomNode().get(workloadRecord(i).key, RecordKind.PEER);
      expect(found.map((r) => workloadUri(r.value))).toEqual([workloadRecord(i).uri]);
    }
    const meanHops = (routeHops() - hopsBefore) / RECORDS;
    const expected = (D / 4) * PEERS ** (1 / D);
    figures['meanHops'] = Number(meanHops.toFixed(2));
    figures['expectedHops'] = Number(expected.toFixed(2));
    expect(meanHops).toBeGreaterThan(expected * 0.6);
    expect(meanHops).toBeLessThan(expected * 1.4);
    expect(net.nodes.reduce((sum, n) => sum + n.store.stats.records, 0)).toBeGreaterThanOrEqual(RECORDS);
  }, 60_000);
  // The churn stage runs by default; SIM_CHURN=0 skips it (a quick look at growth alone).
  it.runIf(process.env['SIM_CHURN'] !== '0')(
    `${CHURN * 100}% churn — leaves and crashes, in rounds of peers two hops apart: exact tiling, nothing lost`,
    async () => {
      const started = performance.now();
      const crashes = Math.min(MAX_CRASHES, Math.round((PEERS * CHURN) / 2));
      const leaves = Math.round(PEERS * CHURN) - crashes;
      // Graceful leaves: each hands its zone and records to a neighbour before it goes. Then crashes: sockets go
      // silent; keepalives notice, the takeover timers pick one taker per dead zone.
      const leaveRounds = await inRounds(leaves, (node) => net.leave(node));
      // Dead space taken over, by volume: a dead zone may be taken in parts (survivors that knew different zones of
      // the dead peer; dht-takeover.md), so counting takeovers per dead zone would count those parts as races.
      let deadZones = 0;
      let deadVolume = 0;
      let takeoversWon = 0;
      let takenVolume = 0;
      for (const n of net.nodes)
        n.on('takeover', (e) => {
          takeoversWon++;
          takenVolume += e.zone.volume;
        });
      const rounds =
        leaveRounds +
        (await inRounds(crashes, (node) => {
          deadZones += node.zones.length;
          deadVolume += node.zones.reduce((sum, z) => sum + z.volume, 0);
          return net.crash(node);
        }));
      // One taker per dead point (spec §3): every survivor of a zone hears each claim, and a slow one is asked again
      // before the claimer commits (dht-takeover.md). Should two survivors still both win (a survivor that never
      // answered), the repair settles it (dht-double-ownership.md); such races must stay rare, one twentieth of the
      // dead space at most. Runs of 2026-12-04: 1–3 of 40 dead zones under load before slow survivors were asked
      // again, 0 since.
      figures['takeoversWon'] = takeoversWon;
      figures['deadZones'] = deadZones;
      figures['takenPerDeadVolume'] = Number((takenVolume / deadVolume).toFixed(3));
      expect(takenVolume).toBeGreaterThanOrEqual(deadVolume * (1 - 1e-9));
      expect(takenVolume - deadVolume).toBeLessThanOrEqual(deadVolume / 20);
      // A peer that lost a takeover race holding nothing else leaves on its own (dht-double-ownership.md): counted,
      // and rare — a taker keeps its own zone until every survivor has noticed the death.
      figures['departedByRepair'] = net.departed;
      expect(net.size + net.departed).toBe(PEERS - leaves - crashes);
      expect(net.departed).toBeLessThanOrEqual(crashes / 10);
      figures['churnRounds'] = rounds;
      // Structure and records are what the churn must restore; a peer whose own work never drains is reported.
      figures['peersWithPendingWork'] = net.nodes.filter((n) => !n.stats.settled).length;
      figures['churnMs'] = Math.round(performance.now() - started);
      // No two peers of a round were neighbours, so no record lost its owner and both replica holders together:
      // the replica bound says nothing may be lost, and every record is back to one primary and its replicas.
      await net
        .waitFor(
          () => [...net.recordCopies().values()].every((c) => c.primary === 1 && c.replica === REPLICAS),
          {
            timeoutMs: 60_000,
            what: 're-replication after the churn',
          },
        )
        .catch((error: unknown) => {
          throw new Error(`${String(error)}\n${net.replicationReport(REPLICAS) ?? ''}`);
        });
      const copies = net.recordCopies();
      const held = new Set([...copies.keys()].map((id) => id.split('/')[1]));
      const lost = Array.from({ length: RECORDS }, (_, i) => workloadRecord(i)).filter(
        (r) => !held.has(r.key),
      );
      // A lost record comes with the zone history at its point: the only trace a CI run leaves.
      expect(
        lost.map((r) => `${r.key}\n${net.historyAt(hashKey(r.key, D))}`),
        'records lost in the churn',
      ).toEqual([]);
      expect(copies.size).toBe(RECORDS);
      const missing: number[] = [];
      for (let i = 0; i < RECORDS; i++) {
        const found = await net.randomNode().get(workloadRecord(i).key, RecordKind.PEER);
        if (found.length !== 1 || workloadUri(found[0]!.value) !== workloadRecord(i).uri) missing.push(i);
      }
      expect(missing).toEqual([]);
    },
    900_000,
  );
});
