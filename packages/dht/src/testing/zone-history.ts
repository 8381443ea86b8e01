import { Zone, type Point } from '@xpp/can';

/** Zone changes kept per peer: enough to see the takeover or hand-over that went wrong, bounded for 10,000 peers. */
const KEPT_PER_PEER = 12;
/** Problems and peers named in one report: a broken tiling after churn is usually one or two pieces. */
const REPORTED = 6;

/** A piece of the space that is not tiled exactly: a hole (no owner) or an overlap (owners listed). */
export interface TilingProblem {
  readonly kind: 'hole' | 'overlap';
  /** The split path of the piece. */
  readonly path: string;
  /** Peers owning the piece or part of it (none for a hole). */
  readonly owners: readonly string[];
}

/**
 * What a testnet remembers of each peer's zones: the last few changes with their causes and times, crashed and
 * departed peers included. A tiling broken under churn in CI is explained by the history of the peers that held the
 * broken piece — the only trace such a run leaves.
 */
export class ZoneHistory {
  readonly #started = Date.now();
  readonly #entries = new Map<string, Entry[]>();

  /** Notes a change of `peer`'s zones, or an event of its life (`crashed`, `left`, `departed`) when zones are absent. */
  note(peer: string, what: string, zones?: readonly Zone[]): void {
    const entries = this.#entries.get(peer) ?? [];
    entries.push({ at: Date.now() - this.#started, what, paths: zones?.map((z) => z.path) });
    if (entries.length > KEPT_PER_PEER) entries.shift();
    this.#entries.set(peer, entries);
  }

  /**
   * Holes and overlaps of `owned` (each live peer's zones), each with the history of every peer that ever held a
   * zone containing or inside it (or its sibling, for a hole); `undefined` when the zones tile the space exactly.
   */
  report(owned: ReadonlyMap<string, readonly Zone[]>): string | undefined {
    const problems = tilingProblems(owned);
    if (problems.length === 0) return undefined;
    const out: string[] = [];
    const named = new Set<string>();
    for (const p of problems.slice(0, REPORTED)) {
      out.push(
        `${p.kind} ${p.path || '(whole space)'}${p.owners.length > 0 ? ` owned by ${p.owners.join(', ')}` : ''}`,
      );
      // A hole's sibling matters too: whoever took the rest of the zone the hole was part of.
      const near = p.kind === 'hole' ? p.path.slice(0, -1) : p.path;
      out.push(...this.#peersWith((path) => path.startsWith(near) || near.startsWith(path), owned, named));
    }
    if (problems.length > REPORTED) out.push(`… and ${problems.length - REPORTED} more`);
    return out.join('\n');
  }

  /** The history of every peer that ever held a zone containing `point` (of `dimensions`), for a lost record. */
  at(point: Point, dimensions: number, owned: ReadonlyMap<string, readonly Zone[]>): string {
    return this.#peersWith((path) => Zone.fromPath(dimensions, path).contains(point), owned, new Set()).join(
      '\n',
    );
  }

  /** Lines for each peer (at most a few, none in `named`) whose history names a zone whose path is `related`. */
  #peersWith(
    related: (path: string) => boolean,
    owned: ReadonlyMap<string, readonly Zone[]>,
    named: Set<string>,
  ): string[] {
    const out: string[] = [];
    for (const [peer, entries] of this.#entries) {
      if (named.size >= REPORTED * 2 || named.has(peer)) continue;
      if (!entries.some((e) => e.paths?.some(related) === true)) continue;
      named.add(peer);
      out.push(`  ${peer}${owned.has(peer) ? '' : ' (gone)'}:`, ...entries.map((e) => `    ${describe(e)}`));
    }
    return out;
  }
}

/**
 * The pieces of the space that `owned` does not tile exactly. Zones are split paths, so the check walks the binary
 * tree of paths: a path owned by one peer and nothing inside it is fine, a path with no zone at or below it is a hole,
 * a zone with another zone at or below it is an overlap.
 */
export function tilingProblems(owned: ReadonlyMap<string, readonly Zone[]>): TilingProblem[] {
  const byPath = new Map<string, string[]>();
  const prefixes = new Set<string>();
  for (const [peer, zones] of owned)
    for (const zone of zones) {
      const owners = byPath.get(zone.path) ?? [];
      owners.push(peer);
      byPath.set(zone.path, owners);
      for (let i = 0; i < zone.path.length; i++) prefixes.add(zone.path.slice(0, i));
    }
  const problems: TilingProblem[] = [];
  const visit = (path: string, above: readonly string[]) => {
    const here = byPath.get(path) ?? [];
    const owners = [...above, ...here];
    if (owners.length > 1 && here.length > 0) problems.push({ kind: 'overlap', path, owners });
    if (prefixes.has(path)) {
      visit(`${path}0`, owners);
      visit(`${path}1`, owners);
    } else if (owners.length === 0) problems.push({ kind: 'hole', path, owners });
  };
  visit('', []);
  return problems;
}

interface Entry {
  /** Milliseconds since the history started. */
  readonly at: number;
  readonly what: string;
  readonly paths: readonly string[] | undefined;
}

function describe(entry: Entry): string {
  const at = `${(entry.at / 1000).toFixed(2)}s ${entry.what}`;
  return entry.paths === undefined ? at : `${at} → [${entry.paths.map((p) => p || '(all)').join(' ')}]`;
}
