import { isIP } from 'node:net';
import { SessionError } from '../errors.js';
import type { CandidateType, TransportAddress, XppCandidate } from './description.js';

/** RFC 8445 §5.1.2.2 recommended type preferences. */
const TYPE_PREFERENCE: Readonly<Record<CandidateType, number>> = { host: 126, srflx: 100 };
const FOUNDATION = /^[A-Za-z0-9+/]{1,32}$/;

/** RFC 8445 §5.1.2.1 priority for component 1: higher is tried first. */
export function candidatePriority(type: CandidateType, localPreference = 65535, component = 1): number {
  return TYPE_PREFERENCE[type] * 2 ** 24 + localPreference * 2 ** 8 + (256 - component);
}

/** A candidate with the RFC 8445 priority and a foundation derived from its type and base address. */
export function makeCandidate(
  type: CandidateType,
  at: TransportAddress,
  related?: TransportAddress,
  localPreference = 65535,
): XppCandidate {
  const base = related ?? at;
  const foundation = `${type === 'host' ? 'h' : 's'}${base.address.replace(/[^A-Za-z0-9]/g, '')}`.slice(
    0,
    32,
  );
  const candidate: XppCandidate = {
    foundation,
    component: 1,
    priority: candidatePriority(type, localPreference),
    type,
    address: at.address,
    port: at.port,
    ...(related === undefined ? {} : { related }),
  };
  checkCandidate(candidate);
  return candidate;
}

export function isPort(port: unknown): port is number {
  return typeof port === 'number' && Number.isInteger(port) && port >= 1 && port <= 65535;
}

/** Throws `INVALID_ARGUMENT` for a candidate this package would not send. */
export function checkCandidate(candidate: XppCandidate): void {
  const problem = candidateProblem(candidate);
  if (problem !== undefined) throw new SessionError('INVALID_ARGUMENT', `candidate ${problem}`);
}

function candidateProblem(c: XppCandidate): string | undefined {
  if (!FOUNDATION.test(c.foundation))
    return `foundation ${JSON.stringify(c.foundation)} is not 1-32 ice-chars`;
  if (c.component !== 1) return `component ${c.component} is not 1`;
  if (!Number.isInteger(c.priority) || c.priority < 1 || c.priority > 0xffffffff)
    return 'priority out of range';
  if (c.type !== 'host' && c.type !== 'srflx') return `type ${String(c.type)} is not host or srflx`;
  if (isIP(c.address) === 0 || !isPort(c.port)) return `address ${c.address}:${c.port} is not an IP and port`;
  if (c.related !== undefined && (isIP(c.related.address) === 0 || !isPort(c.related.port))) {
    return 'related address is not an IP and port';
  }
  return undefined;
}

/** The shape `sdp-transform` gives a parsed `a=candidate` line. */
export interface RawCandidate {
  foundation: string | number;
  component: number | string;
  transport: string | number;
  priority: number | string;
  ip: string | number;
  port: number | string;
  type: string | number;
  raddr?: string | number;
  rport?: number | string;
}

/** A parsed candidate line as an {@link XppCandidate}, or undefined if XPP cannot use it. */
export function fromRawCandidate(raw: RawCandidate): XppCandidate | undefined {
  if (String(raw.transport).toUpperCase() !== 'UDP') return undefined;
  const type = String(raw.type);
  if (type !== 'host' && type !== 'srflx') return undefined;
  const relatedPort = Number(raw.rport);
  const candidate: XppCandidate = {
    foundation: String(raw.foundation),
    component: Number(raw.component),
    priority: Number(raw.priority),
    type,
    address: String(raw.ip),
    port: Number(raw.port),
    ...(raw.raddr === undefined ? {} : { related: { address: String(raw.raddr), port: relatedPort } }),
  };
  return candidateProblem(candidate) === undefined ? candidate : undefined;
}

/** `sdp-transform`'s shape for writing one candidate. */
export function toRawCandidate(c: XppCandidate): RawCandidate {
  return {
    foundation: c.foundation,
    component: c.component,
    transport: 'UDP',
    priority: c.priority,
    ip: c.address,
    port: c.port,
    type: c.type,
    ...(c.related === undefined ? {} : { raddr: c.related.address, rport: c.related.port }),
  };
}

/**
 * Where to send SYNs (spec §4): every candidate by falling priority, then the `c=`/`m=` address, without
 * duplicates. Bounded by the parser's candidate limit.
 */
export function candidateTargets(description: {
  readonly address: string;
  readonly port: number;
  readonly candidates: readonly XppCandidate[];
}): TransportAddress[] {
  const sorted = [...description.candidates].sort((a, b) => b.priority - a.priority);
  const seen = new Set<string>();
  const targets: TransportAddress[] = [];
  for (const at of [...sorted, description]) {
    const key = `${at.address}|${at.port}`;
    if (seen.has(key)) continue;
    seen.add(key);
    targets.push({ address: at.address, port: at.port });
  }
  return targets;
}
