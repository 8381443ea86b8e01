import { describe, expect, it } from 'vitest';
import type { OverlayNode } from '@xpp/dht';
import { NodeMetrics } from '../src/metrics.js';
import type { SipFront } from '../src/sip/front.js';
import { nodeStatus, syncMetrics } from '../src/status.js';
import { formatStatus } from '../src/cli/status-command.js';

// The replication outcome of writes (docs/decisions/dht-replica-ack.md) is counted by the dht's replicator (tested
// there); this checks an operator sees it in /status and as a Prometheus series that only moves forward.
type Replication = OverlayNode['stats']['replication'];

function node(replication: Replication): OverlayNode {
  const stats = { volume: 1, records: 0, neighbours: 0, operations: {}, refused: {}, hops: [], replication };
  return {
    id: 'aa'.repeat(16),
    state: 'peer',
    overlayId: undefined,
    stats,
    zones: [],
    neighbours: () => [],
    store: { stats: { octets: 0 } },
    endpoint: { stats: { sessions: 0 }, address: { address: '127.0.0.1', port: 7000 } },
    ua: { local: { address: '127.0.0.1', port: 5060 } },
  } as unknown as OverlayNode;
}

const front = {
  stats: {
    bindings: 0,
    clients: 0,
    registrations: 0,
    challenges: 0,
    authFailures: 0,
    authBackoffs: 0,
    proxied: 0,
    rejected: {},
  },
} as unknown as SipFront;

const base: Replication = {
  inFlight: 0,
  sent: 5,
  failed: 2,
  checked: 0,
  differed: 0,
  degraded: 0,
  unreplicated: 0,
};

describe('replication outcome in /status and /metrics', () => {
  it('shows degraded and unreplicated writes, and the counter follows them', async () => {
    const first = node({ ...base, degraded: 2, unreplicated: 1 });
    expect(nodeStatus(first, front, { domain: 'example.org' }).replication).toMatchObject({
      degraded: 2,
      unreplicated: 1,
      failed: 2,
    });
    const metrics = new NodeMetrics({ processMetrics: false });
    syncMetrics(metrics, first, front);
    syncMetrics(metrics, node({ ...base, degraded: 5, unreplicated: 1 }), front);
    const text = await metrics.registry.getSingleMetricAsString('xpp_replicated_writes_total');
    expect(text).toContain('xpp_replicated_writes_total{result="degraded"} 5');
    expect(text).toContain('xpp_replicated_writes_total{result="unreplicated"} 1');
  });
});

describe('xpp-node status', () => {
  it('prints the replication outcome', () => {
    const status = nodeStatus(node({ ...base, degraded: 3, unreplicated: 4 }), front, {
      domain: 'example.org',
    });
    expect(formatStatus(status)).toContain(
      'replica writes: 5 sent, 2 failed; acknowledged degraded 3, refused unreplicated 4',
    );
  });
});
