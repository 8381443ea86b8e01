import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SimulatedOverlay, areNeighbours, runSimulation, type JoinRule } from '@xpp/can';
import { churn } from './arbitraries.js';

/** Everything a consistent overlay must satisfy, checked by brute force against the overlay's own tables. */
function checkInvariants(overlay: SimulatedOverlay, probes: number): void {
  expect(overlay.checkOwners()).toMatchObject({ ok: true, overlaps: 0, consistent: true });
  const table = overlay.zoneTable();
  let volume = 0;
  for (const entry of table) volume += entry.zone.volume;
  expect(volume).toBe(1);

  for (let i = 0; i < probes; i++) {
    const point = overlay.randomPoint();
    const holders = table.filter((entry) => entry.zone.contains(point));
    expect(holders).toHaveLength(1);
    expect(overlay.ownerOf(point)).toBe(holders[0]!.owner);
  }

  // Each table lists exactly the zones the geometry calls neighbours, so the relation is symmetric.
  const byPath = new Map(table.map((entry) => [entry.zone.path, entry]));
  for (const entry of table) {
    const listed = entry.neighbours.map((zone) => zone.path).sort();
    const expected = table
      .filter((other) => areNeighbours(entry.zone, other.zone))
      .map((other) => other.zone.path)
      .sort();
    expect(listed).toEqual(expected);
    for (const path of listed) {
      expect(byPath.get(path)!.neighbours.some((zone) => zone.path === entry.zone.path)).toBe(true);
    }
  }

  // Greedy routing from any peer reaches the owner; the distance falls on every hop, so no route can visit
  // more zones than there are.
  for (const from of overlay.peerIds()) {
    const route = overlay.route(from, overlay.randomPoint(), {
      hopLimit: Number.MAX_SAFE_INTEGER,
      path: true,
    });
    expect(route.delivered).toBe(true);
    expect(route.hops).toBeLessThan(overlay.zoneCount);
    expect(new Set(route.path).size).toBe(route.path!.length);
  }
}

describe('simulated overlay', () => {
  it('tiles, keeps symmetric neighbour tables and routes to the owner after any joins and takeovers', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 8 }), fc.nat(), churn, (d, seed, steps) => {
        const overlay = new SimulatedOverlay({ dimensions: d, seed });
        for (const step of steps) {
          if ('join' in step) overlay.join(step.join);
          else if (overlay.size > 1) {
            const ids = overlay.peerIds();
            overlay.kill(ids[step.kill % ids.length]!);
          }
        }
        checkInvariants(overlay, 20);
      }),
      { numRuns: 150 },
    );
  });

  it('stays whole through heavy churn at a larger size', () => {
    for (const [d, join] of [
      [2, 'uniform'],
      [3, 'split'],
      [4, 'balanced'],
    ] as const) {
      const overlay = new SimulatedOverlay({ dimensions: d, seed: 7 });
      overlay.grow(300, join);
      expect(overlay.killFraction(0.5)).toBe(150);
      overlay.grow(400, join);
      expect(overlay.killFraction(0.3)).toBe(120);
      expect(overlay.size).toBe(280);
      checkInvariants(overlay, 50);
    }
  });

  it('hands a whole zone to a newcomer invited by a peer holding two', () => {
    const overlay = new SimulatedOverlay({ dimensions: 2, seed: 3 });
    overlay.grow(40, 'uniform');
    overlay.killFraction(0.5);
    const zones = overlay.zoneCount;
    const holders = overlay.peerIds().filter((id) => overlay.zonesOf(id).length > 1);
    expect(holders.length).toBeGreaterThan(0);
    // Join until a newcomer lands on a two-zone holder: the zone count then stays, peers grow.
    let taken = false;
    for (let i = 0; i < 200 && !taken; i++) {
      const before = overlay.zoneCount;
      const id = overlay.join('split');
      taken = overlay.zoneCount === before;
      if (taken) expect(overlay.zonesOf(id)).toHaveLength(1);
    }
    expect(taken).toBe(true);
    expect(overlay.zoneCount).toBeGreaterThanOrEqual(zones);
    checkInvariants(overlay, 20);
  });

  it('refuses impossible requests', () => {
    const overlay = new SimulatedOverlay({ dimensions: 2 });
    expect(() => overlay.kill(0)).toThrow(expect.objectContaining({ code: 'INVALID_OPTION' }));
    expect(() => overlay.join('random' as JoinRule)).toThrow(
      expect.objectContaining({ code: 'INVALID_OPTION' }),
    );
    expect(() => overlay.killFraction(1)).toThrow(expect.objectContaining({ code: 'INVALID_OPTION' }));
    expect(() => overlay.route(5, [0, 0])).toThrow(expect.objectContaining({ code: 'INVALID_OPTION' }));
    expect(() => runSimulation({ n: 0 })).toThrow(expect.objectContaining({ code: 'INVALID_OPTION' }));
    // d = 1 runs out of splits at 2^32 peers; a zone 32 splits deep is never picked.
    const line = new SimulatedOverlay({ dimensions: 1 });
    line.grow(200, 'balanced');
    expect(line.zonesOf(0)[0]!.depth).toBeLessThanOrEqual(8);
  });
});

describe('hop counts (fixed seeds)', () => {
  it('balanced joins, n = 4096 = 2^(4·3), d = 4: mean hops within 3% of (d/4)·n^(1/d) = 8', () => {
    const report = runSimulation({ n: 4096, d: 4, join: 'balanced', seed: 1, lookups: 4000 });
    expect(report.owners).toBe('ok');
    expect(report.volumeSpread).toBe(1);
    expect(report.meanNeighbours).toBe(8);
    expect(report.canFormula).toBe(8);
    expect(Math.abs(report.meanHops - 8) / 8).toBeLessThan(0.03);
  });

  it('uniform joins, n = 10 000, d = 4: shorter paths, 0.75–1.0 × the formula', () => {
    const report = runSimulation({ n: 10_000, d: 4, join: 'uniform', seed: 1, lookups: 4000 });
    expect(report.owners).toBe('ok');
    expect(report.volumeSpread).toBeGreaterThan(1);
    expect(report.hopsRatio).toBeGreaterThanOrEqual(0.75);
    expect(report.hopsRatio).toBeLessThanOrEqual(1.0);
  });

  it('after 30% of the peers crash, every point still has one owner and every lookup arrives', () => {
    const report = runSimulation({ n: 3000, d: 4, join: 'uniform', seed: 2, kill: 0.3, lookups: 2000 });
    expect(report).toMatchObject({ owners: 'ok', undelivered: 0, killed: 900, alive: 2100 });
    expect(report.maxZonesPerPeer).toBeGreaterThanOrEqual(1);
  });
});
