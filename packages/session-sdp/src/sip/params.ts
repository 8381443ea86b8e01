/** `;name=value` parameters in order; a parameter without `=` has value null. Names are lower case. */
export type SipParams = ReadonlyMap<string, string | null>;

/** Parses `;a=1;b;c=2` (leading `;` optional). Returns undefined if a name is not a token. */
export function parseParams(text: string): Map<string, string | null> | undefined {
  const params = new Map<string, string | null>();
  const trimmed = text.trim();
  if (trimmed.length === 0) return params;
  for (const part of (trimmed.startsWith(';') ? trimmed.slice(1) : trimmed).split(';')) {
    const eq = part.indexOf('=');
    const name = (eq < 0 ? part : part.slice(0, eq)).trim().toLowerCase();
    if (!/^[a-z0-9.!%*_+`'~-]+$/.test(name)) return undefined;
    params.set(name, eq < 0 ? null : part.slice(eq + 1).trim());
  }
  return params;
}

export function formatParams(params: SipParams): string {
  let out = '';
  for (const [name, value] of params) out += value === null ? `;${name}` : `;${name}=${value}`;
  return out;
}
