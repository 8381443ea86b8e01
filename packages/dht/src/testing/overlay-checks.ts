// What a testnet checks of its live peers, as functions of the peers alone: whether they are at rest, whether one
// serves, and how many copies of each record they hold. Testnet wraps them with its own bookkeeping.
import type { Point, TakeoverOptions } from '@xpp/can';
import { adjacent } from '../node/neighbour-table.js';
import { replicaTargets } from '../node/replication.js';
import { pointOfDigest } from '../node/zones.js';
import { OverlayNode } from '../node/overlay-node.js';

/** What {@link unsettledSteps} requires beyond the structure (tiling, exact and linked neighbour tables). */
export interface SettleOptions {
  /** Also require that no peer has work pending (`stats.settled`). Default true. */
  readonly pendingWork?: boolean;
}

export const NOT_TILED = 'the zones do not tile the space';

/** Zone pairs compared between two yields of {@link unsettledSteps}: about 10 ms of work. */
const QUADRATIC_SLICE = 20_000;

/**
 * Why `nodes` are not at rest, in steps: it yields between slices of the quadratic neighbour check, so that a caller
 * that polls a large overlay can let the nodes' timers and datagrams run in between (a check of 1,000 peers takes
 * long enough to delay keepalives and takeover claims past their timeouts). Returns undefined when at rest.
 */
export function* unsettledSteps(
  nodes: readonly OverlayNode[],
  options: SettleOptions,
): Generator<undefined, string | undefined> {
  if (!OverlayNode.tiling(nodes).ok) return NOT_TILED;
  const live = new Set(nodes.map((n) => n.id));
  for (const node of nodes) {
    if (node.state !== 'peer') return `${node.id} is ${node.state}`;
    const stats = node.stats;
    if (options.pendingWork !== false && !stats.settled)
      return `${node.id} has work pending (${JSON.stringify({ replication: stats.replication, takeovers: stats.takeovers })})`;
    for (const n of node.neighbours()) {
      if (!live.has(n.id)) return `${node.id} lists ${n.id}, which is gone`;
      if (!n.linked) return `${node.id} has no session to ${n.id}`;
    }
  }
  // The quadratic check last, once everything cheap holds.
  let compared = 0;
  for (const node of nodes) {
    const listed = new Set(node.neighbours().map((n) => n.id));
    for (const other of nodes)
      if (other !== node && !listed.has(other.id) && adjacent(node.zones, other.zones))
        return `${node.id} misses its neighbour ${other.id}`;
    compared += nodes.length;
    if (compared >= QUADRATIC_SLICE) {
      compared = 0;
      yield;
    }
  }
  return undefined;
}

/** `node` serves: it is a peer, every neighbour it knows is linked, and each knows it back over an open session. */
export function isServing(nodes: readonly OverlayNode[], node: OverlayNode): boolean {
  if (node.state !== 'peer') return false;
  const byId = new Map(nodes.map((n) => [n.id, n]));
  return node.neighbours().every(
    (n) =>
      n.linked &&
      byId
        .get(n.id)
        ?.neighbours()
        .some((m) => m.id === node.id && m.linked) === true,
  );
}

/** How many copies of each record `nodes` hold, by role: `kind/key/subkey` → primaries and replicas. */
export function recordCopies(
  nodes: Iterable<OverlayNode>,
): Map<string, { primary: number; replica: number }> {
  const copies = new Map<string, { primary: number; replica: number }>();
  for (const node of nodes)
    for (const r of node.store.select(() => true)) {
      const id = `${r.kind}/${r.key}/${r.subkey}`;
      const entry = copies.get(id) ?? { primary: 0, replica: 0 };
      entry[r.role]++;
      copies.set(id, entry);
    }
  return copies;
}

/** What {@link replicationReport} needs of the overlay beyond its peers. */
export interface ReplicationReportContext {
  readonly dimensions: number;
  readonly takeover?: TakeoverOptions;
  readonly ownerOf: (point: Point) => OverlayNode | undefined;
  /** The recent zone changes around a point (the first example's). */
  readonly historyAt: (point: Point) => string;
}

/**
 * Why some records are not held by exactly one primary and `replicas` replicas, or undefined when all are: how many
 * records have each wrong count, and for the first few, their owner (with its replication counters), the holders it
 * would pick by its own table, and who holds what.
 */
export function replicationReport(
  nodes: readonly OverlayNode[],
  replicas: number,
  context: ReplicationReportContext,
): string | undefined {
  const holders = new Map<string, { point: Point; held: string[] }>();
  for (const node of nodes)
    for (const r of node.store.select(() => true)) {
      const id = `${r.kind}/${r.key}/${r.subkey}`;
      const entry = holders.get(id) ?? { point: pointOfDigest(r.keyDigest, context.dimensions), held: [] };
      entry.held.push(`${node.id}:${r.role}`);
      holders.set(id, entry);
    }
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const patterns = new Map<string, number>();
  const examples: string[] = [];
  for (const [id, { point, held }] of holders) {
    const primary = held.filter((h) => h.endsWith(':primary')).length;
    if (primary === 1 && held.length - primary === replicas) continue;
    const pattern = `${primary} primary + ${held.length - primary} replica`;
    patterns.set(pattern, (patterns.get(pattern) ?? 0) + 1);
    if (examples.length >= 4) continue;
    const owner = context.ownerOf(point);
    const zone = owner?.zones.find((z) => z.contains(point));
    const targets =
      owner === undefined || zone === undefined
        ? []
        : replicaTargets(
            zone,
            owner.neighbours().filter((n) => n.zones.length > 0 && adjacent(n.zones, [zone])),
            replicas,
            context.takeover,
          );
    // How each replica target that lacks the record sees the owner, and what it refused or dropped.
    const lacking = targets
      .filter((t) => !held.some((h) => h.startsWith(`${t}:`)))
      .map((t) => {
        const target = byId.get(t);
        const view = target?.neighbours().find((n) => n.id === owner?.id);
        return `  target ${t} sees the owner with [${view?.zones.map((z) => z.path).join(' ') ?? 'not listed'}], refused ${JSON.stringify(target?.stats.refused)}`;
      });
    examples.push(
      `${id}: owner ${owner?.id ?? 'none'} zone ${zone?.path ?? '-'} replication ${JSON.stringify(owner?.stats.replication)}` +
        ` settled ${String(owner?.stats.settled)}; targets ${targets.join(' ')}; held ${held.join(' ')}`,
      ...lacking,
      ...(examples.length === 0 ? [context.historyAt(point)] : []),
    );
  }
  if (patterns.size === 0) return undefined;
  return [...[...patterns].map(([p, n]) => `${n} records: ${p}`), ...examples].join('\n');
}
