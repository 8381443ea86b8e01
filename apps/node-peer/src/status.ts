import type { OverlayNode } from '@xpp/dht';
import type { NodeConfig } from './config.js';
import type { NodeMetrics } from './metrics.js';
import type { SipFront } from './sip/front.js';

/** What `/status` answers and `xpp-node status` prints. */
export interface NodeStatus {
  readonly peerId: string;
  readonly state: OverlayNode['state'];
  readonly domain: string;
  readonly sip: string;
  readonly xpp: string;
  /** Zone split paths (`0`, `10`, …; empty = the whole space) and the share of the space they cover. */
  readonly zones: readonly string[];
  readonly volume: number;
  readonly neighbours: readonly { id: string; zones: readonly string[]; linked: boolean }[];
  readonly records: number;
  readonly storeOctets: number;
  readonly sessions: number;
  /** The SIP front's own figures (clients, bindings, requests). */
  readonly front: SipFront['stats'];
  readonly operations: Readonly<Record<string, number>>;
}

export function nodeStatus(
  node: OverlayNode,
  front: SipFront,
  config: Pick<NodeConfig, 'domain'>,
): NodeStatus {
  const stats = node.stats;
  return {
    peerId: node.id,
    state: node.state,
    domain: config.domain,
    sip: `${node.ua.local.address}:${node.ua.local.port}`,
    xpp: `${node.endpoint.address.address}:${node.endpoint.address.port}`,
    zones: node.zones.map((z) => z.path),
    volume: stats.volume,
    neighbours: node
      .neighbours()
      .map((n) => ({ id: n.id, zones: n.zones.map((z) => z.path), linked: n.linked })),
    records: stats.records,
    storeOctets: node.store.stats.octets,
    sessions: node.endpoint.stats.sessions,
    front: front.stats,
    operations: stats.operations,
  };
}

/** Copies the node's and the front's figures into the Prometheus series (before each scrape). */
export function syncMetrics(metrics: NodeMetrics, node: OverlayNode, front: SipFront): void {
  const stats = node.stats;
  metrics.peer.set(node.state === 'peer' ? 1 : 0);
  metrics.sessions.set(node.endpoint.stats.sessions);
  metrics.neighbours.set(stats.neighbours);
  metrics.zoneVolume.set(stats.volume);
  metrics.storeRecords.set(stats.records);
  metrics.storeOctets.set(node.store.stats.octets);
  for (const [key, total] of Object.entries(stats.operations)) {
    const [type = key, result = 'ok'] = key.split(' ');
    metrics.advance(metrics.operations, { type, result }, total);
  }
  for (const [reason, total] of Object.entries(stats.refused))
    metrics.advance(metrics.refused, { reason }, total);
  void front;
}
