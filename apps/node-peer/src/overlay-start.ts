import type { OverlayNode } from '@xpp/dht';
import { NodeError } from './errors.js';
import type { Logger } from './logger.js';
import type { PeerStateTable, PersistedPeerState } from './store/peer-state.js';

/** How a node enters its overlay at start (docs/decisions/dht-overlay-id.md). */
export type OverlayStart =
  /** A data directory never in an overlay (or `--new-overlay`): bootstrap() makes a new id. */
  | { readonly kind: 'found' }
  /** It was the whole overlay (no neighbours): the same id, the whole space again. */
  | { readonly kind: 'resume'; readonly overlayId: Uint8Array }
  /** A candidate (`join --via`): restarted with state, it only accepts an invitation of its own overlay. */
  | { readonly kind: 'join'; readonly overlayId?: Uint8Array };

/**
 * Never a silent fork (spec xpp-pcan §4): a data directory that has been in an overlay with other peers does not
 * found another on `start`; it is refused with what to do instead, unless the operator says `--new-overlay`.
 */
export function overlayStart(input: {
  readonly state: PersistedPeerState | undefined;
  readonly joining: boolean;
  readonly newOverlay: boolean;
  readonly dataDir: string;
}): OverlayStart {
  const { state, joining, newOverlay } = input;
  const stored = state?.overlayId;
  if (stored === undefined || newOverlay) return joining ? { kind: 'join' } : { kind: 'found' };
  const overlayId = new Uint8Array(Buffer.from(stored, 'hex'));
  if (joining) return { kind: 'join', overlayId };
  const neighbours = state?.neighbours ?? [];
  if (neighbours.length === 0) return { kind: 'resume', overlayId };
  throw new NodeError(
    'OVERLAY_FORK',
    `${input.dataDir} has been a peer of overlay ${stored} with ${neighbours.length} neighbour(s) ` +
      `(${neighbours.map((n) => n.id.slice(0, 16)).join(', ')}): starting alone would fork it. Rejoin with ` +
      '`xpp-node join --via <a peer’s host:port>`, or found a separate overlay with `xpp-node start --new-overlay`',
  );
}

/** Writes the node's overlay id, zones and neighbours to `table` now and whenever they change. */
export function persistPeerState(node: OverlayNode, table: PeerStateTable, logger: Logger): () => void {
  const write = (): void => {
    if (node.state !== 'peer') return;
    try {
      table.write({
        ...(node.overlayId === undefined ? {} : { overlayId: node.overlayId }),
        zones: node.zones.map((z) => z.path),
        neighbours: node.neighbours().map((n) => ({ id: n.id, zones: n.zones.map((z) => z.path) })),
      });
    } catch (error) {
      logger.error({ err: error }, 'could not write the overlay state');
    }
  };
  write();
  const offs = (['zone-change', 'neighbour-up', 'neighbour-down'] as const).map((e) => node.on(e, write));
  return () => offs.forEach((off) => off());
}
