import { isIP } from 'node:net';
import { formatHost, readHostPort, unbracket } from './uri.js';
import { formatParams, parseParams, type SipParams } from './params.js';

/** RFC 3261 §8.1.1.7: every branch this stack creates and accepts starts with it. */
export const BRANCH_MAGIC_COOKIE = 'z9hG4bK';

/** One Via value (RFC 3261 §20.42, RFC 3581 `rport`/`received`). */
export interface Via {
  /** `SIP/2.0/UDP` and the like, upper case. */
  readonly protocol: string;
  readonly host: string;
  readonly port?: number;
  readonly params: SipParams;
}

const VIA =
  /^(SIP\s*\/\s*2\.0\s*\/\s*[A-Za-z]+)\s+(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(?:\s*:\s*(\d{1,5}))?\s*((?:;.*)?)$/i;

export function parseVia(text: string): Via | undefined {
  const match = VIA.exec(text.trim());
  if (match === null) return undefined;
  const [, protocol = '', rawHost = '', rawPort, rawParams = ''] = match;
  const hostPort = readHostPort(rawHost, rawPort);
  const params = parseParams(rawParams);
  if (hostPort === undefined || params === undefined) return undefined;
  return {
    protocol: protocol.replace(/\s+/g, '').toUpperCase(),
    ...hostPort,
    params,
  };
}

export function formatVia(via: Via): string {
  const port = via.port === undefined ? '' : `:${via.port}`;
  return `${via.protocol} ${formatHost(via.host)}${port}${formatParams(via.params)}`;
}

/** The branch parameter when it carries the RFC 3261 magic cookie, else undefined. */
export function branchOf(via: Via): string | undefined {
  const branch = via.params.get('branch');
  return typeof branch === 'string' && branch.startsWith(BRANCH_MAGIC_COOKIE) ? branch : undefined;
}

/**
 * RFC 3261 §18.2.1 and RFC 3581 §4: the top Via as a server records it — `received` when the source IP
 * differs from sent-by, `rport` filled with the source port when the client asked for it.
 */
export function stampReceived(via: Via, source: { address: string; port: number }): Via {
  const params = new Map(via.params);
  const wantsRport = params.has('rport');
  if (via.host !== source.address || wantsRport) params.set('received', source.address);
  if (wantsRport) params.set('rport', String(source.port));
  return { ...via, params };
}

/**
 * Where a server sends a response to a request whose top Via is `via` (RFC 3261 §18.2.2 over UDP, RFC 3581 §4):
 * `received` (or sent-by) and `rport` (or the sent-by port, default 5060).
 */
export function responseTarget(via: Via): { address: string; port: number } {
  const rawReceived = via.params.get('received');
  const received = typeof rawReceived === 'string' ? unbracket(rawReceived) : undefined;
  const rport = Number(via.params.get('rport'));
  return {
    address: received !== undefined && isIP(received) !== 0 ? received : via.host,
    port: Number.isInteger(rport) && rport > 0 && rport <= 65535 ? rport : (via.port ?? 5060),
  };
}
