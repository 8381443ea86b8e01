import { DhtError } from './errors.js';

/** Longest address-of-record accepted, in characters. */
export const MAX_AOR_LENGTH = 512;

const USER_FORBIDDEN = /[\s<>"@]/;
const HOST_NAME = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*\.?$/;
const HOST_V6 = /^\[[0-9a-f:.]+\]$/;

function hasControl(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) return true;
  }
  return false;
}

function invalid(input: string, why: string): DhtError {
  return new DhtError(
    'INVALID_AOR',
    `${JSON.stringify(input.slice(0, 80))} is not an address-of-record: ${why}`,
  );
}

/**
 * The normalised address-of-record (spec §2): `sip:user@host` with the scheme and host in lower case. Accepts a
 * bare URI or a name-addr (`"Alice" <sip:alice@Example.com:5060;transport=udp>`); drops the display name, port,
 * URI parameters and headers; maps `sips:` to `sip:` (one user, one key). The user part keeps its case
 * (RFC 3261 §19.1.4). Anything else is `INVALID_AOR` (answered with 400).
 */
export function normaliseAor(input: string): string {
  if (input.length > MAX_AOR_LENGTH) throw invalid(input, `longer than ${MAX_AOR_LENGTH} characters`);
  let uri = input.trim();
  const open = uri.indexOf('<');
  if (open >= 0) {
    const close = uri.indexOf('>', open);
    if (close < 0) throw invalid(input, 'unclosed <');
    uri = uri.slice(open + 1, close).trim();
  }
  const colon = uri.indexOf(':');
  const scheme = uri.slice(0, colon).toLowerCase();
  if (colon < 0 || (scheme !== 'sip' && scheme !== 'sips')) throw invalid(input, 'scheme is not sip or sips');
  const rest = uri.slice(colon + 1);
  const at = rest.indexOf('@');
  if (at <= 0) throw invalid(input, 'no user part');
  const user = rest.slice(0, at);
  if (USER_FORBIDDEN.test(user) || hasControl(user)) throw invalid(input, 'bad user part');
  const hostPort = rest
    .slice(at + 1)
    .split(/[;?]/, 1)[0]!
    .toLowerCase();
  const host = hostPort.startsWith('[')
    ? hostPort.slice(0, hostPort.indexOf(']') + 1)
    : hostPort.split(':', 1)[0]!;
  if (!HOST_NAME.test(host) && !HOST_V6.test(host)) throw invalid(input, 'bad host');
  return `sip:${user}@${host.replace(/\.$/, '')}`;
}

/** The user part of an address-of-record (the default digest username). */
export function aorUser(aor: string): string {
  const normal = normaliseAor(aor);
  return normal.slice(4, normal.lastIndexOf('@'));
}
