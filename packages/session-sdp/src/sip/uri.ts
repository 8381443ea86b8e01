import { isIP } from 'node:net';
import { formatParams, parseParams, type SipParams } from './params.js';

/** A `sip:`/`sips:` URI (RFC 3261 §19.1), enough to route a request. */
export interface SipUri {
  readonly scheme: 'sip' | 'sips';
  /** The user part as written (escapes kept): it may hold `;`, `?`, `/` (RFC 4475 §3.1.1.2, §3.1.1.9). */
  readonly user?: string;
  /** Host name or IP literal (IPv6 without brackets). */
  readonly host: string;
  readonly port?: number;
  readonly params: SipParams;
}

// RFC 3261 §25.1: user = 1*( unreserved / escaped / user-unreserved ), password = *( unreserved / escaped /
// "&" / "=" / "+" / "$" / "," ). A `%` must start an escape.
const USER = /^(?:[A-Za-z0-9\-_.!~*'()&=+$,;?/]|%[0-9A-Fa-f]{2})+$/;
const PASSWORD = /^(?:[A-Za-z0-9\-_.!~*'()&=+$,]|%[0-9A-Fa-f]{2})*$/;
// An IPv6 reference only in brackets (RFC 5118 §4.2): an unbracketed one fails here at its second colon.
const HOST_PORT = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(?::(\d{1,5}))?$/;
// paramchar and hname/hvalue characters, `;`/`=`/`&` as separators: no space, quote, angle bracket or bare `%`.
const PARAMS = /^(?:[A-Za-z0-9\-_.!~*'()[\]/:&+$=;]|%[0-9A-Fa-f]{2})*$/;
const HEADERS = /^(?:[A-Za-z0-9\-_.!~*'()[\]/?:+$=&]|%[0-9A-Fa-f]{2})*$/;

/** Parses a SIP URI; undefined if it is not one. Userinfo passwords and `?headers` are accepted and ignored. */
export function parseSipUri(text: string): SipUri | undefined {
  return readSipUri(text)?.uri;
}

/**
 * A SIP URI and its `?headers` part, which only a Contact or Refer-To may carry (a Request-URI must not:
 * RFC 4475 §3.1.2.11). The user part extends to the first `@`: `@` cannot appear unescaped after it.
 */
export function readSipUri(text: string): { uri: SipUri; headers?: string } | undefined {
  const value = text.trim();
  const scheme = /^(sips?):/i.exec(value);
  if (scheme === null || /\s/.test(value)) return undefined;
  let rest = value.slice(scheme[0].length);
  let user: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    const userinfo = rest.slice(0, at);
    const colon = userinfo.indexOf(':');
    user = colon < 0 ? userinfo : userinfo.slice(0, colon);
    if (!USER.test(user) || (colon >= 0 && !PASSWORD.test(userinfo.slice(colon + 1)))) return undefined;
    rest = rest.slice(at + 1);
  }
  const question = rest.indexOf('?');
  const headers = question < 0 ? undefined : rest.slice(question + 1);
  if (question >= 0) rest = rest.slice(0, question);
  const semi = rest.indexOf(';');
  const match = HOST_PORT.exec(semi < 0 ? rest : rest.slice(0, semi));
  const rawParams = semi < 0 ? '' : rest.slice(semi);
  if (match === null || !PARAMS.test(rawParams) || (headers !== undefined && !HEADERS.test(headers)))
    return undefined;
  const hostPort = readHostPort(match[1] ?? '', match[2]);
  const params = parseParams(rawParams);
  if (hostPort === undefined || params === undefined) return undefined;
  const uri: SipUri = {
    scheme: scheme[1]?.toLowerCase() === 'sips' ? 'sips' : 'sip',
    ...(user === undefined ? {} : { user }),
    ...hostPort,
    params,
  };
  return headers === undefined ? { uri } : { uri, headers };
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

/** An address as a Via `received` or SDP value carries it: IPv6 brackets (RFC 5118 §4.5 accepts both) removed. */
export function unbracket(address: string): string {
  return address.startsWith('[') && address.endsWith(']') ? address.slice(1, -1) : address;
}

export function formatSipUri(uri: SipUri): string {
  const user = uri.user === undefined ? '' : `${uri.user}@`;
  const port = uri.port === undefined ? '' : `:${uri.port}`;
  return `${uri.scheme}:${user}${formatHost(uri.host)}${port}${formatParams(uri.params)}`;
}
