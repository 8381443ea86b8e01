import { isIP } from 'node:net';
import { formatParams, parseParams, type SipParams } from './params.js';

/** A `sip:`/`sips:` URI (RFC 3261 §19.1), enough to route a request. */
export interface SipUri {
  readonly scheme: 'sip' | 'sips';
  readonly user?: string;
  /** Host name or IP literal (IPv6 without brackets). */
  readonly host: string;
  readonly port?: number;
  readonly params: SipParams;
}

const URI =
  /^(sips?):(?:([^@;?]+)@)?(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(?::(\d{1,5}))?((?:;[^?]*)?)(?:\?.*)?$/;

/** Parses a SIP URI; undefined if it is not one. Userinfo passwords and `?headers` are accepted and ignored. */
export function parseSipUri(text: string): SipUri | undefined {
  const match = URI.exec(text.trim());
  if (match === null) return undefined;
  const [, scheme, user, rawHost = '', rawPort, rawParams = ''] = match;
  const hostPort = readHostPort(rawHost, rawPort);
  const params = parseParams(rawParams);
  if (hostPort === undefined || params === undefined) return undefined;
  return {
    scheme: scheme === 'sips' ? 'sips' : 'sip',
    ...(user === undefined ? {} : { user: user.split(':')[0] ?? user }),
    ...hostPort,
    params,
  };
}

/**
 * The host (brackets of an IPv6 reference removed) and port of a URI or Via, as matched by their patterns;
 * undefined for a bracketed non-IPv6 or a port outside 1-65535.
 */
export function readHostPort(
  rawHost: string,
  rawPort: string | undefined,
): { host: string; port?: number } | undefined {
  const host = rawHost.startsWith('[') ? rawHost.slice(1, -1) : rawHost;
  if (rawHost.startsWith('[') && isIP(host) !== 6) return undefined;
  if (rawPort === undefined) return { host };
  const port = Number(rawPort);
  return port >= 1 && port <= 65535 ? { host, port } : undefined;
}

/** A host for a URI or Via: IPv6 literals get brackets. */
export function formatHost(host: string): string {
  return isIP(host) === 6 ? `[${host}]` : host;
}

export function formatSipUri(uri: SipUri): string {
  const user = uri.user === undefined ? '' : `${uri.user}@`;
  const port = uri.port === undefined ? '' : `:${uri.port}`;
  return `${uri.scheme}:${user}${formatHost(uri.host)}${port}${formatParams(uri.params)}`;
}
