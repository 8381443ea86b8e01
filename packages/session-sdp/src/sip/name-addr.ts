import { formatParams, parseParams, type SipParams } from './params.js';

/** From, To, Contact, Route value: optional display name, URI, header parameters (RFC 3261 §20.10). */
export interface NameAddr {
  /** As written between the quotes (escapes kept), or the unquoted words. */
  readonly display?: string;
  readonly uri: string;
  readonly params: SipParams;
}

// An unquoted display name is tokens separated by LWS (RFC 3261 §25.1); a comma (RFC 4475 §3.1.2.15 baddn) is
// not a token character. UTF-8 beyond ASCII is tolerated: phones send unquoted names in their own script.
const DISPLAY_WORDS = /^[A-Za-z0-9.!%*_+`'~\u0080-\uffff-]+(?:\s+[A-Za-z0-9.!%*_+`'~\u0080-\uffff-]+)*$/;
// absoluteURI without whitespace or the characters that delimit it: a space inside `<>` is refused (RFC 4475
// §3.1.2.14 badaspec).
const ABSOLUTE_URI = /^[A-Za-z][A-Za-z0-9+.-]*:[^\s<>"]+$/;

/** Parses `"Name" <uri>;tag=x` or `uri;tag=x`; undefined when malformed. */
export function parseNameAddr(text: string): NameAddr | undefined {
  const value = text.trim();
  let display: string | undefined;
  let bracketed: string;
  if (value.startsWith('"')) {
    const end = closingQuote(value);
    if (end < 0) return undefined; // RFC 4475 §3.1.2.6 quotbal
    display = value.slice(1, end);
    bracketed = value.slice(end + 1).trimStart();
    if (!bracketed.startsWith('<')) return undefined;
  } else {
    const open = value.indexOf('<');
    const words = open < 0 ? '' : value.slice(0, open).trim();
    // A `<` after `:` or `;` belongs to a parameter value of an addr-spec (`;+sip.instance="<urn:…>"`).
    if (open < 0 || /[:;]/.test(words)) return parseAddrSpec(value);
    if (words.length > 0 && !DISPLAY_WORDS.test(words)) return undefined;
    if (words.length > 0) display = words;
    bracketed = value.slice(open);
  }
  const close = bracketed.indexOf('>');
  if (close < 0) return undefined;
  const uri = bracketed.slice(1, close).trim();
  const tail = bracketed.slice(close + 1).trim();
  if (!ABSOLUTE_URI.test(uri) || (tail.length > 0 && !tail.startsWith(';'))) return undefined;
  const params = parseParams(tail);
  if (params === undefined) return undefined;
  return { ...(display !== undefined && display.length > 0 ? { display } : {}), uri, params };
}

/**
 * Without angle brackets the URI cannot carry parameters: everything after `;` is a header parameter, and a URI
 * holding `?` or `,` must have been bracketed (RFC 3261 §20, RFC 4475 §3.1.2.13 regbadct).
 */
function parseAddrSpec(value: string): NameAddr | undefined {
  const semi = value.indexOf(';');
  const uri = (semi < 0 ? value : value.slice(0, semi)).trim();
  const params = parseParams(semi < 0 ? '' : value.slice(semi));
  if (params === undefined || !ABSOLUTE_URI.test(uri) || /[?,]/.test(uri)) return undefined;
  return { uri, params };
}

/** Index of the quote closing the quoted string that opens `text`, honouring `\` escapes; -1 when unterminated. */
function closingQuote(text: string): number {
  for (let i = 1; i < text.length; i++) {
    if (text[i] === '\\') i++;
    else if (text[i] === '"') return i;
  }
  return -1;
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
