import { NodeError } from '../errors.js';
import type { NodeStatus } from '../status.js';

/** `/status` of the node at `base`. */
export async function fetchStatus(base: string): Promise<NodeStatus> {
  let res: Response;
  try {
    res = await fetch(`${base}/status`, { signal: AbortSignal.timeout(10_000) });
  } catch (cause) {
    throw new NodeError('NOT_RUNNING', `no node answers at ${base}: ${(cause as Error).message}`, { cause });
  }
  if (res.status !== 200) throw new NodeError('REFUSED', `${base}/status answered ${res.status}`);
  return (await res.json()) as NodeStatus;
}

const zoneName = (path: string): string => (path === '' ? '(whole space)' : path);

/** The status as a few lines for a person. */
export function formatStatus(s: NodeStatus): string {
  const front = s.front as unknown as Record<string, unknown>;
  const figures = Object.entries(front)
    .filter(([, v]) => typeof v === 'number')
    .map(([k, v]) => `${k} ${String(v)}`)
    .join(', ');
  return [
    `peer ${s.peerId} (${s.state}) for ${s.domain}: SIP ${s.sip}, XPP ${s.xpp}`,
    `zones: ${s.zones.map(zoneName).join(', ') || '-'} (${(s.volume * 100).toFixed(2)}% of the space)`,
    `neighbours: ${s.neighbours.length}${s.neighbours
      .map(
        (n) =>
          `\n  ${n.id.slice(0, 16)} ${n.zones.map(zoneName).join(',')}${n.linked ? '' : ' (no session)'}`,
      )
      .join('')}`,
    `records: ${s.records} (${s.storeOctets} octets), XPP sessions: ${s.sessions}`,
    `replica writes: ${s.replication.sent} sent, ${s.replication.failed} failed; ` +
      `acknowledged degraded ${s.replication.degraded}, refused unreplicated ${s.replication.unreplicated}`,
    `clients: ${figures || '-'}`,
  ].join('\n');
}
