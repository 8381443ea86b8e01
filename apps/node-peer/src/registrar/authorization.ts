/** The parameters of a `Digest` credentials header (RFC 7616 §3.4), as strings, unvalidated beyond syntax. */
export interface DigestCredentials {
  readonly username: string;
  readonly realm: string;
  readonly nonce: string;
  readonly uri: string;
  readonly response: string;
  readonly algorithm?: string;
  readonly qop?: string;
  readonly nc?: string;
  readonly cnonce?: string;
  readonly opaque?: string;
}

/** Longest header value parsed; SIP clients send a few hundred octets. */
export const MAX_AUTHORIZATION_LENGTH = 4096;
const MAX_PARAMS = 32;
const REQUIRED = ['username', 'realm', 'nonce', 'uri', 'response'] as const;

/**
 * Reads the `k=v, k="quoted", …` parameters after `Digest ` in an Authorization or WWW-Authenticate value (names in
 * lower case). Undefined for anything malformed, a repeated name, more than 32 parameters or a value longer than
 * {@link MAX_AUTHORIZATION_LENGTH}; it never throws.
 */
export function parseDigestParams(value: string): Map<string, string> | undefined {
  if (value.length > MAX_AUTHORIZATION_LENGTH) return undefined;
  const scheme = /^\s*Digest\s+/i.exec(value);
  if (!scheme) return undefined;
  const params = new Map<string, string>();
  let at = scheme[0].length;
  while (at < value.length) {
    const name = /^\s*([A-Za-z0-9_-]+)\s*=\s*/.exec(value.slice(at));
    if (!name) return undefined;
    at += name[0].length;
    let paramValue: string;
    if (value[at] === '"') {
      let end = at + 1;
      let text = '';
      while (end < value.length && value[end] !== '"') {
        if (value[end] === '\\' && end + 1 < value.length) end++;
        text += value[end];
        end++;
      }
      if (end >= value.length) return undefined;
      paramValue = text;
      at = end + 1;
    } else {
      const token = /^[^\s,"]+/.exec(value.slice(at));
      if (!token) return undefined;
      paramValue = token[0];
      at += token[0].length;
    }
    const key = name[1]!.toLowerCase();
    if (params.has(key) || params.size >= MAX_PARAMS) return undefined;
    params.set(key, paramValue);
    const separator = /^\s*(,|$)/.exec(value.slice(at));
    if (!separator) return undefined;
    at += separator[0].length;
  }
  return params;
}

/**
 * Reads `Digest k=v, k="quoted", …` from an Authorization header value. Returns undefined for anything that is
 * not a well-formed Digest header with the required parameters (the registrar answers 400 or challenges
 * again); it never throws, and its work is bounded by {@link MAX_AUTHORIZATION_LENGTH}.
 */
export function parseDigestAuthorization(value: string): DigestCredentials | undefined {
  const params = parseDigestParams(value);
  if (params === undefined) return undefined;
  for (const key of REQUIRED) if (!params.has(key)) return undefined;
  const optional = (key: string) => {
    const v = params.get(key);
    return v === undefined ? {} : { [key]: v };
  };
  return {
    username: params.get('username')!,
    realm: params.get('realm')!,
    nonce: params.get('nonce')!,
    uri: params.get('uri')!,
    response: params.get('response')!,
    ...optional('algorithm'),
    ...optional('qop'),
    ...optional('nc'),
    ...optional('cnonce'),
    ...optional('opaque'),
  } as DigestCredentials;
}
