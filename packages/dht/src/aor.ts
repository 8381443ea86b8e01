import { CanError, MAX_AOR_LENGTH, normaliseAor as canonicalAor } from '@xpp/can';
import { DhtError } from './errors.js';

export { MAX_AOR_LENGTH };

const BARE_URI = /^\s*sips?:/i;

function invalid(input: string, why: string, cause?: unknown): DhtError {
  return new DhtError(
    'INVALID_AOR',
    `${JSON.stringify(input.slice(0, 80))} is not an address-of-record: ${why}`,
    cause === undefined ? undefined : { cause },
  );
}

/**
 * The key text of a SIP address-of-record (spec §2), exactly as `@xpp/can` computes it (`scheme:user@host[:port]`,
 * scheme and host in lower case, the user part as written, parameters and headers dropped;
 * docs/decisions/can-aor-key.md), so that a user has one key everywhere. A name-addr
 * (`"Alice" <sip:alice@Example.org>;tag=1`, as in To and Contact headers) is unwrapped first. Anything else, or
 * text over {@link MAX_AOR_LENGTH} characters, is `INVALID_AOR` (answered with 400).
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
  try {
    return canonicalAor(uri);
  } catch (error) {
    if (CanError.is(error)) throw invalid(input, error.message, error);
    throw error;
  }
}

/** The user part of an address-of-record (the default digest username). */
export function aorUser(aor: string): string {
  const normal = normaliseAor(aor);
  return normal.slice(normal.indexOf(':') + 1, normal.lastIndexOf('@'));
}
