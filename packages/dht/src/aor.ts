import { DhtError } from './errors.js';

/** Longest address-of-record text accepted, in characters (as `@xpp/can`). */
export const MAX_AOR_LENGTH = 1_024;

// scheme ":" user "@" host [":" port], then parameters and headers that do not name the user. The same grammar
// as `@xpp/can`'s `normaliseAor` (docs/decisions/can-aor-key.md), so that both give one key per user.
const AOR = /^\s*(sips?):([^@;?\s]+)@([^;?:\s]+)(?::(\d{1,5}))?(?:[;?].*)?\s*$/i;
const BARE_URI = /^\s*sips?:/i;

function invalid(input: string, why: string): DhtError {
  return new DhtError(
    'INVALID_AOR',
    `${JSON.stringify(input.slice(0, 80))} is not an address-of-record: ${why}`,
  );
}

/**
 * The key text of a SIP address-of-record (spec §2): `scheme:user@host[:port]`, scheme and host in lower case,
 * the user part as written (case-sensitive in SIP), URI parameters and headers dropped — the same text as
 * `@xpp/can`'s `normaliseAor` for every URI that accepts. A name-addr (`"Alice" <sip:alice@Example.org>;tag=1`,
 * as in To and Contact headers) is unwrapped first. Anything else is `INVALID_AOR` (answered with 400).
 */
export function normaliseAor(input: string): string {
  if (input.length > MAX_AOR_LENGTH) throw invalid(input, `longer than ${MAX_AOR_LENGTH} characters`);
  let uri = input;
  if (!BARE_URI.test(input)) {
    const open = input.indexOf('<');
    const close = input.indexOf('>', open);
    if (open < 0 || close < 0) throw invalid(input, 'not a sip: or sips: URI');
    uri = input.slice(open + 1, close);
  }
  const match = AOR.exec(uri);
  if (match === null) throw invalid(input, 'not a sip: or sips: URI with a user part');
  const [, scheme, user, host, port] = match as unknown as [
    string,
    string,
    string,
    string,
    string | undefined,
  ];
  if (port !== undefined && Number(port) > 0xffff) throw invalid(input, `port ${port} is out of range`);
  return `${scheme.toLowerCase()}:${user}@${host.toLowerCase()}${port === undefined ? '' : `:${port}`}`;
}

/** The user part of an address-of-record (the default digest username). */
export function aorUser(aor: string): string {
  const normal = normaliseAor(aor);
  return normal.slice(normal.indexOf(':') + 1, normal.lastIndexOf('@'));
}
