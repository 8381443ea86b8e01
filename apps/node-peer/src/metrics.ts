import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';

/** The node's Prometheus metrics, on a registry of its own (several nodes may share a process in tests). */
export class NodeMetrics {
  readonly registry = new Registry();
  readonly sessions = new Gauge({
    name: 'xpp_sessions',
    help: 'Open XPP sessions',
    registers: [this.registry],
  });
  readonly operations = new Counter({
    name: 'xpp_overlay_operations_total',
    help: 'Overlay operations handled, by type and result',
    labelNames: ['type', 'result'],
    registers: [this.registry],
  });
  readonly hops = new Counter({
    name: 'xpp_overlay_requests_by_hops_total',
    help: 'Requests this node started that reached their owner, by hops taken (0 = this node owned the key)',
    labelNames: ['hops'],
    registers: [this.registry],
  });
  readonly overlayEvents = new Counter({
    name: 'xpp_overlay_events_total',
    help: 'Overlay events: neighbour-up, neighbour-down-<reason>, zone-change-<cause>, takeover, leave, handback',
    labelNames: ['event'],
    registers: [this.registry],
  });
  readonly replicatedWrites = new Counter({
    name: 'xpp_replicated_writes_total',
    help: 'Writes whose replicas did not all commit: degraded (acknowledged, some holders missed it), unreplicated (refused 503)',
    labelNames: ['result'],
    registers: [this.registry],
  });
  readonly registrations = new Counter({
    name: 'sip_registrations_total',
    help: 'REGISTER requests, by result',
    labelNames: ['result'],
    registers: [this.registry],
  });
  readonly bindings = new Gauge({
    name: 'sip_bindings',
    help: 'Bindings whose client flow this peer holds',
    registers: [this.registry],
  });
  readonly clients = new Gauge({
    name: 'sip_clients',
    help: 'Distinct AORs with a flow at this peer',
    registers: [this.registry],
  });
  readonly proxied = new Counter({
    name: 'sip_proxied_total',
    help: 'Requests forwarded by the proxy',
    registers: [this.registry],
  });
  readonly sipRejected = new Counter({
    name: 'sip_rejected_total',
    help: 'SIP requests answered with an error, by reason',
    labelNames: ['reason'],
    registers: [this.registry],
  });
  readonly storeRecords = new Gauge({
    name: 'xpp_store_records',
    help: 'Records in the local store',
    registers: [this.registry],
  });
  readonly sessionRtt = new Gauge({
    name: 'xpp_session_srtt_seconds',
    help: 'Smoothed round-trip time of the XPP session to each neighbour (bounded by the neighbour table)',
    labelNames: ['peer'],
    registers: [this.registry],
  });
  readonly sessionRetransmits = new Gauge({
    name: 'xpp_session_retransmits',
    help: 'Datagrams retransmitted so far by the XPP session to each neighbour',
    labelNames: ['peer'],
    registers: [this.registry],
  });
  readonly storeOctets = new Gauge({
    name: 'xpp_store_octets',
    help: 'Octets in the local store',
    registers: [this.registry],
  });

  readonly neighbours = new Gauge({
    name: 'xpp_overlay_neighbours',
    help: 'Neighbours in the neighbour table',
    registers: [this.registry],
  });
  readonly zoneVolume = new Gauge({
    name: 'xpp_overlay_zone_volume',
    help: 'Share of the key space this node owns (0..1)',
    registers: [this.registry],
  });
  readonly peer = new Gauge({
    name: 'xpp_overlay_peer',
    help: '1 while this node is a peer of the overlay (owns a zone), 0 while a candidate or closed',
    registers: [this.registry],
  });
  readonly refused = new Counter({
    name: 'xpp_overlay_refused_total',
    help: 'Overlay requests and INVITEs refused, by reason',
    labelNames: ['reason'],
    registers: [this.registry],
  });
  readonly certificateDaysLeft = new Gauge({
    name: 'xpp_certificate_days_left',
    help: "Days until this peer's certificate expires (renewed once two thirds of its validity passed)",
    registers: [this.registry],
  });
  readonly enrollments = new Counter({
    name: 'xpp_enrollments_total',
    help: 'Enrollment requests answered by this (the administrator) node, by kind and result',
    labelNames: ['kind', 'result'],
    registers: [this.registry],
  });
  readonly sipEvents = new Counter({
    name: 'sip_events_total',
    help: 'SIP front events (registered, unregistered, invited, call)',
    labelNames: ['event'],
    registers: [this.registry],
  });
  /** Last cumulative totals copied into counters, by series: counters only move forward by the difference. */
  readonly #totals = new Map<string, number>();

  constructor(options: { processMetrics?: boolean } = {}) {
    if (options.processMetrics ?? true)
      collectDefaultMetrics({ register: this.registry, prefix: 'xpp_node_' });
  }

  /**
   * Moves `counter{labels}` up to `total`, a cumulative figure read from a component's stats (prom-client
   * counters take increments). A smaller total (the component was replaced) restarts from it.
   */
  advance<L extends string>(counter: Counter<L>, labels: Partial<Record<L, string>>, total: number): void {
    const series = `${(counter as unknown as { name: string }).name}${JSON.stringify(labels)}`;
    const last = this.#totals.get(series) ?? 0;
    const delta = total >= last ? total - last : total;
    if (delta > 0) counter.inc(labels, delta);
    this.#totals.set(series, total);
  }
}
