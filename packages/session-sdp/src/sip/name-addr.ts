import { formatParams, parseParams, type SipParams } from './params.js';

/** From, To, Contact, Route value: optional display name, URI, header parameters (RFC 3261 §20.10). */
export interface NameAddr {
  readonly display?: string;
  readonly uri: string;
  readonly params: SipParams;
}

/** Parses `"Name" <uri>;tag=x` or `uri;tag=x`; undefined when malformed. */
export function parseNameAddr(text: string): NameAddr | undefined {
  const value = text.trim();
  const open = value.indexOf('<');
  if (open >= 0) {
    const close = value.indexOf('>', open);
    if (close < 0) return undefined;
    const display = value
      .slice(0, open)
      .trim()
      .replace(/^"(.*)"$/, '$1');
    const params = parseParams(value.slice(close + 1));
    const uri = value.slice(open + 1, close).trim();
    if (params === undefined || uri.length === 0) return undefined;
    return { ...(display.length > 0 ? { display } : {}), uri, params };
  }
  // Without angle brackets the URI cannot carry parameters: everything after `;` is a header parameter.
  const semi = value.indexOf(';');
  const uri = semi < 0 ? value : value.slice(0, semi);
  const params = parseParams(semi < 0 ? '' : value.slice(semi));
  if (params === undefined || uri.length === 0 || /\s/.test(uri)) return undefined;
  return { uri, params };
}

export function formatNameAddr(value: NameAddr): string {
  const display = value.display === undefined ? '' : `"${value.display.replace(/["\\]/g, '')}" `;
  return `${display}<${value.uri}>${formatParams(value.params)}`;
}

/** The `tag` parameter of a From or To value. */
export function tagOf(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  return parseNameAddr(value)?.params.get('tag') ?? undefined;
}
