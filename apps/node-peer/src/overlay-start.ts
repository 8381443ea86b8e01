import { Zone } from '@xpp/can';
import type { OverlayNode } from '@xpp/dht';
import { parseSipUri } from '@xpp/session-sdp';
import { NodeError } from './errors.js';
import type { Logger } from './logger.js';
import type { PeerStateTable, PersistedPeerState } from './store/peer-state.js';

/** A neighbour persisted with its SIP URI: what a restarted peer calls again. */
export interface ResumeNeighbour {
  readonly id: string;
  readonly zones: readonly Zone[];
  readonly uri: string;
}

/** How a node enters its overlay at start (docs/decisions/dht-overlay-id.md, node-peer-rejoin.md). */
export type OverlayStart =
  /** A data directory never in an overlay (or `--new-overlay`): bootstrap() makes a new id. */
  | { readonly kind: 'found' }
  /** It held zones: the same id, those zones again, and its neighbours called (OverlayNode.resume). */
  | {
      readonly kind: 'resume';
      readonly overlayId: Uint8Array;
      readonly zones: readonly Zone[];
      readonly version: number;
      readonly neighbours: readonly ResumeNeighbour[];
    }
  /**
   * A candidate: `join --via`, or a peer that holds no zone any more (it gave its zone up) rejoining through its
   * persisted neighbours' SIP addresses. Restarted with state, it only accepts an invitation of its own overlay.
   */
  | { readonly kind: 'join'; readonly overlayId?: Uint8Array; readonly via: readonly string[] };

/** `host:port` of a neighbour's SIP URI (where its registrar listens too), or undefined. */
export function sipAddressOf(uri: string): string | undefined {
  const parsed = parseSipUri(uri);
  if (parsed?.port === undefined) return undefined;
  return `${parsed.host.includes(':') ? `[${parsed.host}]` : parsed.host}:${parsed.port}`;
}

/**
 * Never a silent fork (spec xpp-pcan §4): a data directory that has been in an overlay never founds another on
 * `start`. With zones it resumes them; without, it rejoins as a candidate through its persisted neighbours; with
 * neither a neighbour address nor `--via` it is refused with what to do instead. `--new-overlay` founds anew.
 */
export function overlayStart(input: {
  readonly state: PersistedPeerState | undefined;
  readonly joinVia: string | undefined;
  readonly newOverlay: boolean;
  readonly dataDir: string;
  readonly dimensions: number;
}): OverlayStart {
  const { state, joinVia, newOverlay } = input;
  const given = joinVia === undefined ? [] : [joinVia];
  const stored = state?.overlayId;
  if (stored === undefined || newOverlay)
    return given.length > 0 ? { kind: 'join', via: given } : { kind: 'found' };
  const overlayId = new Uint8Array(Buffer.from(stored, 'hex'));
  const neighbours = (state?.neighbours ?? []).flatMap((n) =>
    n.uri === undefined
      ? []
      : [{ id: n.id, uri: n.uri, zones: n.zones.map((p) => Zone.fromPath(input.dimensions, p)) }],
  );
  const zones = (state?.zones ?? []).map((p) => Zone.fromPath(input.dimensions, p));
  // A peer that held zones takes them back whatever `--via` says (a compose file restarts it with `join --via`).
  if (zones.length > 0) return { kind: 'resume', overlayId, zones, version: state?.version ?? 0, neighbours };
  const via = [
    ...new Set([
      ...given,
      ...neighbours.flatMap((n) => {
        const address = sipAddressOf(n.uri);
        return address === undefined ? [] : [address];
      }),
    ]),
  ];
  if (via.length > 0) return { kind: 'join', overlayId, via };
  const known = state?.neighbours ?? [];
  throw new NodeError(
    'OVERLAY_FORK',
    `${input.dataDir} has been a peer of overlay ${stored} with ${known.length} neighbour(s) ` +
      `(${known.map((n) => n.id.slice(0, 16)).join(', ')}) and no address of any to rejoin through: starting ` +
      'alone would fork it. Rejoin with `xpp-node join --via <a peer’s host:port>`, or found a separate overlay ' +
      'with `xpp-node start --new-overlay`',
  );
}

/** Writes the node's overlay id, zones, version and neighbours to `table` now and whenever they change. */
export function persistPeerState(node: OverlayNode, table: PeerStateTable, logger: Logger): () => void {
  const write = (): void => {
    if (node.state !== 'peer') return;
    try {
      table.write({
        ...(node.overlayId === undefined ? {} : { overlayId: node.overlayId }),
        zones: node.zones.map((z) => z.path),
        version: node.version,
        neighbours: node
          .neighbours()
          .map((n) => ({ id: n.id, zones: n.zones.map((z) => z.path), uri: n.uri })),
      });
    } catch (error) {
      logger.error({ err: error }, 'could not write the overlay state');
    }
  };
  write();
  const offs = (['zone-change', 'neighbour-up', 'neighbour-down'] as const).map((e) => node.on(e, write));
  return () => offs.forEach((off) => off());
}
