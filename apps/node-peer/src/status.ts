import type { Zone } from '@xpp/can';
import type { OverlayNode } from '@xpp/dht';
import { formatHost } from '@xpp/session-sdp';
import type { Logger } from './logger.js';
import type { NodeConfig } from './config.js';
import type { NodeMetrics } from './metrics.js';
import type { SipFront } from './sip/front.js';
import type { SipStreamStatus } from './sip/transports.js';

/** What `/status` answers and `xpp-node status` prints. */
export interface NodeStatus {
  readonly peerId: string;
  readonly state: OverlayNode['state'];
  /** The overlay this peer is in (hex, spec xpp-pcan §4): the same on every peer of one overlay. */
  readonly overlayId?: string;
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
  /** SIP over TCP (and TLS): connections, refusals and closes by reason (docs/decisions/session-sdp-stream-transports.md). */
  readonly sipStreams?: SipStreamStatus;
  /**
   * SIP through NATs (docs/decisions/node-peer-nat-sip.md): behind a NAT, the flow route other peers reach this peer
   * at and the neighbours holding its flows; on a public peer, how many NATed peers' flows it holds.
   */
  readonly nat: SipFront['natTraversal'];
  readonly operations: Readonly<Record<string, number>>;
  /**
   * Replica writes and their outcome (docs/decisions/dht-replica-ack.md): `degraded` writes were acknowledged with
   * some holders missing them, `unreplicated` ones refused with 503 because no holder committed them.
   */
  readonly replication: OverlayNode['stats']['replication'];
}

export function nodeStatus(
  node: OverlayNode,
  front: SipFront,
  config: Pick<NodeConfig, 'domain'>,
  streams?: SipStreamStatus,
): NodeStatus {
  const stats = node.stats;
  return {
    peerId: node.id,
    state: node.state,
    ...(node.overlayId === undefined ? {} : { overlayId: node.overlayId }),
    domain: config.domain,
    // `host:port`, an IPv6 host bracketed (`[::1]:5060`) as `--via` takes it back.
    sip: `${formatHost(node.ua.local.address)}:${node.ua.local.port}`,
    xpp: `${formatHost(node.endpoint.address.address)}:${node.endpoint.address.port}`,
    zones: node.zones.map((z) => z.path),
    volume: stats.volume,
    neighbours: node
      .neighbours()
      .map((n) => ({ id: n.id, zones: n.zones.map((z) => z.path), linked: n.linked })),
    records: stats.records,
    storeOctets: node.store.stats.octets,
    sessions: node.endpoint.stats.sessions,
    front: front.stats,
    ...(streams === undefined ? {} : { sipStreams: streams }),
    nat: front.natTraversal,
    operations: stats.operations,
    replication: stats.replication,
  };
}

/** Copies the node's and the front's figures into the Prometheus series (before each scrape). */
export function syncMetrics(
  metrics: NodeMetrics,
  node: OverlayNode,
  front: SipFront,
  streams?: SipStreamStatus,
): void {
  const stats = node.stats;
  metrics.peer.set(node.state === 'peer' ? 1 : 0);
  metrics.sessions.set(node.endpoint.stats.sessions);
  // Reset first: a neighbour gone since the last scrape must not keep its series.
  metrics.sessionRtt.reset();
  metrics.sessionRetransmits.reset();
  for (const n of node.neighbours()) {
    if (!n.linked) continue;
    const peer = n.id.slice(0, 16);
    if (n.srttMs !== undefined) metrics.sessionRtt.set({ peer }, n.srttMs / 1000);
    metrics.sessionRetransmits.set({ peer }, n.retransmits);
  }
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
  metrics.advance(metrics.replicatedWrites, { result: 'degraded' }, stats.replication.degraded);
  metrics.advance(metrics.replicatedWrites, { result: 'unreplicated' }, stats.replication.unreplicated);
  for (const [hops, total] of stats.hops.entries())
    metrics.advance(metrics.hops, { hops: String(hops) }, total);
  const sip = front.stats;
  metrics.bindings.set(sip.bindings);
  metrics.clients.set(sip.clients);
  metrics.advance(metrics.registrations, { result: 'ok' }, sip.registrations);
  metrics.advance(metrics.registrations, { result: 'challenged' }, sip.challenges);
  metrics.advance(metrics.registrations, { result: 'auth-failed' }, sip.authFailures);
  metrics.advance(metrics.registrations, { result: 'auth-backoff' }, sip.authBackoffs);
  metrics.advance(metrics.proxied, {}, sip.proxied);
  for (const [reason, total] of Object.entries(sip.rejected))
    metrics.advance(metrics.sipRejected, { reason }, total);
  // Stream connections refused at the caps, and closed for breaking a limit: `tcp-refused-address`, `tls-closed-timeout`…
  for (const [name, t] of [
    ['tcp', streams?.tcp],
    ['tls', streams?.tls],
  ] as const) {
    if (t === undefined) continue;
    for (const [reason, total] of Object.entries(t.refused))
      metrics.advance(metrics.sipRejected, { reason: `${name}-refused-${reason}` }, total);
    for (const reason of ['timeout', 'framing', 'tooLarge', 'backlog'] as const)
      metrics.advance(metrics.sipRejected, { reason: `${name}-closed-${reason}` }, t.closed[reason]);
  }
  // WebSocket: the same, and `ws-closed-protocol` for an upgrade without the `sip` subprotocol.
  for (const [name, t] of [
    ['ws', streams?.ws],
    ['wss', streams?.wss],
  ] as const) {
    if (t === undefined) continue;
    for (const [reason, total] of Object.entries(t.refused))
      metrics.advance(metrics.sipRejected, { reason: `${name}-refused-${reason}` }, total);
    for (const reason of ['timeout', 'protocol', 'tooLarge', 'backlog'] as const)
      metrics.advance(metrics.sipRejected, { reason: `${name}-closed-${reason}` }, t.closed[reason]);
  }
}

/** Counts and logs the overlay's events: neighbours coming and going, zone changes, takeovers, leaves. */
export function observeOverlay(node: OverlayNode, metrics: NodeMetrics, logger: Logger): void {
  const paths = (zones: readonly Zone[]) => zones.map((z) => z.path);
  node.on('neighbour-up', (e) => {
    metrics.overlayEvents.inc({ event: 'neighbour-up' });
    logger.info({ neighbour: e.id, zones: paths(e.zones) }, 'neighbour up');
  });
  node.on('neighbour-down', (e) => {
    metrics.overlayEvents.inc({ event: `neighbour-down-${e.reason}` });
    logger.info({ neighbour: e.id, reason: e.reason }, 'neighbour down');
  });
  node.on('zone-change', (e) => {
    metrics.overlayEvents.inc({ event: `zone-change-${e.cause}` });
    logger.info({ zones: paths(e.zones), previous: paths(e.previous), cause: e.cause }, 'zone changed');
  });
  node.on('takeover', (e) => {
    metrics.overlayEvents.inc({ event: 'takeover' });
    logger.warn(
      { dead: e.deadPeer, zone: e.zone.path, promoted: e.promoted },
      "took over a dead neighbour's zone",
    );
  });
  node.on('leave', (e) => {
    metrics.overlayEvents.inc({ event: e.departed ? 'leave' : 'handback' });
    logger.info(
      { peer: e.peer, taker: e.taker, zones: paths(e.zones), departed: e.departed },
      'zone handed over',
    );
  });
}
