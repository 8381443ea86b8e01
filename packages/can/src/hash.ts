import { createHash } from 'node:crypto';
import { CanError } from './errors.js';
import { DEFAULT_DIMENSIONS, checkDimensions, type Point } from './space.js';

const utf8 = new TextEncoder();

/**
 * The point of a key (spec §2): SHA-256 of the key (text as UTF-8), coordinate i the big-endian u32 at octets
 * 4i … 4i+3 of the digest. The owner of the zone holding this point stores the key's records.
 */
export function hashKey(key: string | Uint8Array, d: number = DEFAULT_DIMENSIONS): Point {
  checkDimensions(d);
  const digest = createHash('sha256')
    .update(typeof key === 'string' ? utf8.encode(key) : key)
    .digest();
  const point = new Array<number>(d);
  for (let i = 0; i < d; i++) point[i] = digest.readUInt32BE(4 * i);
  return point;
}

/** Longest address-of-record text accepted: SIP URIs in practice stay far below this. */
export const MAX_AOR_LENGTH = 1_024;

// scheme ":" user "@" host [":" port], then parameters and headers that do not name the user.
const AOR = /^\s*(sips?):([^@;?\s]+)@([^;?:\s]+)(?::(\d{1,5}))?(?:[;?].*)?\s*$/i;

/**
 * The key text of a SIP address-of-record (spec §2): `scheme:user@host[:port]` with scheme and host in lower
 * case, the user part as written (it is case-sensitive in SIP), and URI parameters and headers dropped.
 * `BAD_AOR` for anything that is not a `sip:` or `sips:` URI with a user part, or longer than
 * `MAX_AOR_LENGTH`.
 */
export function normaliseAor(aor: string): string {
  if (typeof aor !== 'string' || aor.length > MAX_AOR_LENGTH) {
    throw new CanError('BAD_AOR', `an address-of-record is text of at most ${MAX_AOR_LENGTH} characters`);
  }
  const match = AOR.exec(aor);
  if (match === null) throw new CanError('BAD_AOR', `not a SIP address-of-record: ${JSON.stringify(aor)}`);
  const [, scheme, user, host, port] = match as unknown as [
    string,
    string,
    string,
    string,
    string | undefined,
  ];
  if (port !== undefined && Number(port) > 0xffff)
    throw new CanError('BAD_AOR', `port ${port} is out of range`);
  return `${scheme.toLowerCase()}:${user}@${host.toLowerCase()}${port === undefined ? '' : `:${port}`}`;
}

/** The point of a SIP address-of-record: `hashKey(normaliseAor(aor), d)`. */
export function hashAor(aor: string, d: number = DEFAULT_DIMENSIONS): Point {
  return hashKey(normaliseAor(aor), d);
}
