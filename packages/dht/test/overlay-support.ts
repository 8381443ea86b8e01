// Shared by the overlay tests (not a test file itself): real-UDP nodes that can crash, growth by invitation,
// structure and replica checks, and polling with a deadline (never a fixed sleep as an assertion).
import { areNeighbours, chooseTakeover, hashKey, type Zone } from '@xpp/can';
import { seededRandom, waitFor } from '@xpp/reliability/testing';
import { UdpSipTransport } from '@xpp/session-sdp';
import { expect } from 'vitest';
import { OverlayNode, peerRecordCodec, RecordKind, type OverlayNodeOptions } from '@xpp/dht';
import { ImpairedTransport } from '../src/testing/impaired-transport.js';

export interface CrashableNode {
  readonly node: OverlayNode;
  /** Closes the node's sockets without a word: no LEAVE, no BYE. */
  crash(): Promise<void>;
}

/** Timers short enough that a crash is noticed in about 2 s, long enough to ride out a loaded 2-core box. */
export const FAST: OverlayNodeOptions = {
  keepaliveInterval: 500,
  keepaliveMisses: 4,
  claimTimeout: 1500,
  refreshInterval: 2000,
  requestTimeout: 5000,
};

export async function udpNode(options: OverlayNodeOptions = {}): Promise<CrashableNode> {
  // A crash cuts both sockets: from then on nothing leaves or arrives, the way a crashed host goes quiet.
  const sip = new ImpairedTransport(await UdpSipTransport.open({ address: '127.0.0.1' }));
  const xpp = new ImpairedTransport(await UdpSipTransport.open({ address: '127.0.0.1' }));
  const node = await OverlayNode.create({ ...options, transports: { sip, xpp } });
  return {
    node,
    async crash() {
      await Promise.all([sip.cut(), xpp.cut()]);
    },
  };
}

/** Grows an overlay from one peer: each newcomer is invited by a random peer. */
export async function growOverlay<T extends { node: OverlayNode }>(
  count: number,
  make: (i: number) => Promise<T>,
  seed = 1,
  track?: (made: T) => void,
): Promise<T[]> {
  const random = seededRandom(seed);
  const grown: T[] = [];
  for (let i = 0; i < count; i++) {
    const made = await make(i);
    track?.(made);
    if (i === 0) made.node.bootstrap();
    else {
      const inviter = grown[Math.floor(random() * grown.length)]!;
      await inviter.node.invite(made.node.ua.contactUri);
    }
    grown.push(made);
  }
  return grown;
}

const touching = (a: OverlayNode, b: OverlayNode) =>
  a.zones.some((x) => b.zones.some((y) => areNeighbours(x, y)));

/** Why `overlay` is not settled yet (undefined when it is): tiling, tables, links, pending work. */
export function unsettled(overlay: readonly OverlayNode[]): string | undefined {
  const tiling = OverlayNode.tiling(overlay);
  if (!tiling.ok)
    return `tiling: ${JSON.stringify(tiling, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v)).slice(0, 300)}`;
  for (const node of overlay) {
    const stats = node.stats;
    if (!stats.settled)
      return `${node.id.slice(0, 6)} busy: ${JSON.stringify({ r: stats.replication, t: stats.takeovers, c: stats.connecting, s: stats.settling })}`;
    const table = new Map(node.neighbours().map((n) => [n.id, n]));
    for (const other of overlay) {
      if (other === node) continue;
      const entry = table.get(other.id);
      if (touching(node, other) !== (entry !== undefined))
        return `${node.id.slice(0, 6)} ${entry === undefined ? 'misses' : 'wrongly lists'} ${other.id.slice(0, 6)}`;
      if (entry !== undefined && !entry.linked)
        return `${node.id.slice(0, 6)} has no link to ${other.id.slice(0, 6)}`;
    }
    const real = overlay.filter((o) => o !== node && touching(node, o)).length;
    if (table.size !== real) return `${node.id.slice(0, 6)} lists ${table.size - real} peers that are gone`;
  }
  return undefined;
}

export function isSettled(overlay: readonly OverlayNode[]): boolean {
  return unsettled(overlay) === undefined;
}

export async function settle(overlay: readonly OverlayNode[], what = 'the overlay to settle'): Promise<void> {
  let why: string | undefined;
  await waitFor(
    () => {
      why = unsettled(overlay);
      if (why !== undefined) return false;
      const problems = replicaProblems(overlay, 2);
      why =
        problems.length === 0
          ? undefined
          : `${problems.length} replica problems: ${problems.slice(0, 3).join(', ')}`;
      return why === undefined;
    },
    { what: () => `${what} (${why ?? ''})`, timeoutMs: 60_000 },
  );
}

/** Asserts the structure: exact tiling; every table holds exactly the real neighbours, linked, and symmetric. */
export function checkStructure(overlay: readonly OverlayNode[]): void {
  expect(OverlayNode.tiling(overlay).ok).toBe(true);
  const byId = new Map(overlay.map((n) => [n.id, n]));
  for (const node of overlay) {
    expect(node.state).toBe('peer');
    for (const n of node.neighbours()) {
      const other = byId.get(n.id)!;
      expect(other, `${node.id} lists a neighbour that is gone`).toBeDefined();
      expect(touching(node, other)).toBe(true);
      expect(n.linked).toBe(true);
      expect(other.neighbours().some((m) => m.id === node.id)).toBe(true);
    }
    for (const other of overlay) {
      if (other === node) continue;
      expect(node.neighbours().some((m) => m.id === other.id)).toBe(touching(node, other));
    }
  }
}

/**
 * Where the replicas are not what spec §4 asks: every primary record is held as a replica by exactly the first
 * `replicas` peers `chooseTakeover` ranks for its owner's zone, and nobody else holds replicas of it.
 */
export function replicaProblems(overlay: readonly OverlayNode[], replicas: number): string[] {
  const problems: string[] = [];
  const replicaHolders = new Map<string, Set<string>>();
  for (const node of overlay) {
    for (const r of node.store.select((s) => s.role === 'replica')) {
      const key = `${r.kind}/${r.key}/${r.subkey}`;
      replicaHolders.set(key, (replicaHolders.get(key) ?? new Set()).add(node.id));
    }
  }
  const expected = new Map<string, Set<string>>();
  for (const node of overlay) {
    for (const zone of node.zones) {
      const survivors = overlay
        .filter((o) => o !== node && o.zones.some((z) => areNeighbours(z, zone)))
        .map((o) => ({ id: o.id, zones: o.zones as Zone[] }));
      const targets =
        survivors.length === 0
          ? []
          : chooseTakeover(zone, survivors)
              .order.slice(0, replicas)
              .map((t) => t.id);
      for (const r of node.store.select(
        (s) => s.role === 'primary' && zone.contains(hashKey(s.key, zone.dimensions)),
      ))
        expected.set(`${r.kind}/${r.key}/${r.subkey}`, new Set(targets));
    }
  }
  for (const [key, want] of expected) {
    const have = replicaHolders.get(key) ?? new Set();
    if (have.size !== want.size || [...want].some((id) => !have.has(id)))
      problems.push(`${key}: ${have.size}/${want.size}`);
  }
  for (const key of replicaHolders.keys())
    if (!expected.has(key)) problems.push(`${key}: replica without primary`);
  return problems;
}

export const recordKey = (i: number) => `sip:user${i}@example.org`;
const contactOf = (i: number) => `sip:peer${i}@192.0.2.${i % 250}:5060`;

export function recordValue(i: number): Uint8Array {
  return peerRecordCodec.encode({
    peerId: Uint8Array.of(i >> 8, i & 0xff),
    contact: { uri: contactOf(i), candidates: [] },
  });
}

/** PUTs `count` PEER records, each from a random node, `parallel` at a time. */
export async function putRecords(
  overlay: readonly OverlayNode[],
  count: number,
  seed = 2,
  parallel = 8,
): Promise<void> {
  const random = seededRandom(seed);
  const pick = () => overlay[Math.floor(random() * overlay.length)]!;
  for (let i = 0; i < count; i += parallel) {
    await Promise.all(
      Array.from({ length: Math.min(parallel, count - i) }, async (_, j) => {
        expect(await pick().put(recordKey(i + j), RecordKind.PEER, recordValue(i + j), 600)).toBe(600);
      }),
    );
  }
}

/** GETs every record from a random node; returns the indexes of those not found (or found wrong). */
export async function missingRecords(
  overlay: readonly OverlayNode[],
  count: number,
  seed = 3,
  parallel = 8,
): Promise<number[]> {
  const random = seededRandom(seed);
  const pick = () => overlay[Math.floor(random() * overlay.length)]!;
  const missing: number[] = [];
  for (let i = 0; i < count; i += parallel) {
    await Promise.all(
      Array.from({ length: Math.min(parallel, count - i) }, async (_, j) => {
        const found = await pick()
          .get(recordKey(i + j), RecordKind.PEER)
          .catch(() => []);
        const ok =
          found.length === 1 && peerRecordCodec.decode(found[0]!.value).contact.uri === contactOf(i + j);
        if (!ok) missing.push(i + j);
      }),
    );
  }
  return missing.sort((a, b) => a - b);
}

export function primaries(overlay: readonly OverlayNode[]): number {
  return overlay.reduce((sum, n) => sum + n.stats.recordsByRole.primary, 0);
}
