import { SessionError } from '../errors.js';

/** RFC 3261 §7.3.3 and later RFCs' compact header forms, to their full names (lower case). */
const COMPACT: Readonly<Record<string, string>> = {
  i: 'call-id',
  m: 'contact',
  e: 'content-encoding',
  l: 'content-length',
  c: 'content-type',
  f: 'from',
  s: 'subject',
  k: 'supported',
  t: 'to',
  v: 'via',
  o: 'event',
  r: 'refer-to',
  u: 'allow-events',
  x: 'session-expires',
};

/** Spellings that plain capitalisation gets wrong. */
const SPECIAL_CASE: Readonly<Record<string, string>> = {
  'call-id': 'Call-ID',
  cseq: 'CSeq',
  'www-authenticate': 'WWW-Authenticate',
  'mime-version': 'MIME-Version',
};

/** Headers whose comma-separated values are separate entries (RFC 3261 §7.3.1). */
const LIST_HEADERS: ReadonlySet<string> = new Set(['via', 'route', 'record-route', 'contact']);

const TOKEN = /^[A-Za-z0-9.!%*_+`'~-]+$/;

/** The lower-case full name of a header name as received (compact forms expanded). */
export function headerKey(name: string): string {
  const lower = name.toLowerCase();
  return COMPACT[lower] ?? lower;
}

/** Display spellings already computed, by header key: a message has a dozen, a peer sees a few dozen names. */
const displayNames = new Map<string, string>();
/** Names whose display spelling is remembered at most (hostile input may bring any number of new ones). */
const MAX_DISPLAY_NAMES = 256;

/** The display spelling of a header: `Call-ID`, `CSeq`, `Content-Length`, … */
export function headerDisplayName(name: string): string {
  return displayNameOfKey(headerKey(name));
}

function displayNameOfKey(key: string): string {
  const known = displayNames.get(key);
  if (known !== undefined) return known;
  const display =
    SPECIAL_CASE[key] ??
    key.replace(/(^|-)([a-z])/g, (_m, dash: string, c: string) => dash + c.toUpperCase());
  if (displayNames.size < MAX_DISPLAY_NAMES) displayNames.set(key, display);
  return display;
}

/** True for a header name made of RFC 3261 token characters. */
export function isToken(value: string): boolean {
  return TOKEN.test(value);
}

/**
 * Splits a header value at commas that are outside quoted strings and angle brackets. Only list headers
 * (Via, Route, Record-Route, Contact) are split: others keep commas (dates, auth parameters).
 */
export function splitHeaderValue(name: string, value: string): string[] {
  if (!LIST_HEADERS.has(headerKey(name))) return [value];
  const parts: string[] = [];
  let depth = 0;
  let quoted = false;
  let start = 0;
  for (let i = 0; i < value.length; i++) {
    const c = value[i];
    if (quoted) {
      if (c === '\\') i++;
      else if (c === '"') quoted = false;
    } else if (c === '"') quoted = true;
    else if (c === '<') depth++;
    else if (c === '>') depth = Math.max(0, depth - 1);
    else if (c === ',' && depth === 0) {
      parts.push(value.slice(start, i).trim());
      start = i + 1;
    }
  }
  parts.push(value.slice(start).trim());
  return parts.filter((p) => p.length > 0);
}

/** One header line, name in display spelling. */
export interface SipHeader {
  readonly name: string;
  readonly value: string;
}

/**
 * The ordered header list of a SIP message. Names are case-insensitive and compact forms are the same
 * header; list headers hold one entry per value.
 */
export class SipHeaders {
  readonly #entries: SipHeader[] = [];
  /** `headerKey` of each entry, same index: lookups compare keys instead of re-deriving them per entry. */
  readonly #keys: string[] = [];

  constructor(init?: Iterable<readonly [string, string]>) {
    if (init !== undefined) for (const [name, value] of init) this.append(name, value);
  }

  /** The first value of `name`, or undefined. */
  get(name: string): string | undefined {
    const index = this.#keys.indexOf(headerKey(name));
    return index < 0 ? undefined : this.#entries[index]?.value;
  }

  /** Every value of `name`, in order. */
  getAll(name: string): string[] {
    const key = headerKey(name);
    const values: string[] = [];
    for (let i = 0; i < this.#keys.length; i++)
      if (this.#keys[i] === key) values.push((this.#entries[i] as SipHeader).value);
    return values;
  }

  has(name: string): boolean {
    return this.#keys.includes(headerKey(name));
  }

  /** Adds a value after the existing ones. Throws `INVALID_ARGUMENT` for a bad name or a CR/LF in the value. */
  append(name: string, value: string): this {
    const [key, header] = checkedHeader(name, value);
    this.#keys.push(key);
    this.#entries.push(header);
    return this;
  }

  /** Adds a value before the existing ones (a proxy's Via, a Record-Route). */
  prepend(name: string, value: string): this {
    const [key, header] = checkedHeader(name, value);
    this.#keys.unshift(key);
    this.#entries.unshift(header);
    return this;
  }

  /** Replaces every value of `name` by one. */
  set(name: string, value: string): this {
    const [key, header] = checkedHeader(name, value);
    const index = this.#keys.indexOf(key);
    this.delete(name);
    const at = index < 0 ? this.#entries.length : index;
    this.#keys.splice(at, 0, key);
    this.#entries.splice(at, 0, header);
    return this;
  }

  /** Replaces the first value of `name` (the top Via after adding `received`). */
  setFirst(name: string, value: string): this {
    const [key, header] = checkedHeader(name, value);
    const index = this.#keys.indexOf(key);
    if (index < 0) return this.append(name, value);
    this.#entries[index] = header;
    return this;
  }

  delete(name: string): this {
    const key = headerKey(name);
    for (let i = this.#keys.length - 1; i >= 0; i--) {
      if (this.#keys[i] !== key) continue;
      this.#keys.splice(i, 1);
      this.#entries.splice(i, 1);
    }
    return this;
  }

  get size(): number {
    return this.#entries.length;
  }

  [Symbol.iterator](): IterableIterator<SipHeader> {
    return this.#entries[Symbol.iterator]();
  }

  clone(): SipHeaders {
    // Entries are immutable and were checked when added: the copy shares them.
    const copy = new SipHeaders();
    copy.#keys.push(...this.#keys);
    copy.#entries.push(...this.#entries);
    return copy;
  }
}

/** The key and the checked entry of a header line. */
function checkedHeader(name: string, value: string): [string, SipHeader] {
  if (!isToken(name))
    throw new SessionError('INVALID_ARGUMENT', `header name ${JSON.stringify(name)} is not a token`);
  if (hasStrayControl(value)) {
    throw new SessionError('INVALID_ARGUMENT', `header ${name} value contains CR, LF or NUL`);
  }
  const key = headerKey(name);
  return [key, { name: displayNameOfKey(key), value: value.trim() }];
}

/**
 * True when `text` holds a CR or LF, or a NUL other than a quoted-pair inside a quoted string (`\<NUL>` in
 * quotes is legal, RFC 3261 §25.1 and RFC 4475 §3.1.1.2): what would let a value end a header line or truncate a C reader.
 */
export function hasStrayControl(text: string): boolean {
  if (!/[\r\n\0]/.test(text)) return false;
  let quoted = false;
  let escapedNul = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '\r' || c === '\n' || c === '\0') return true;
    if (quoted && c === '\\') {
      if (text[i + 1] === '\r' || text[i + 1] === '\n') return true;
      if (text[i + 1] === '\0') escapedNul = true;
      i++;
    } else if (c === '"') quoted = !quoted;
  }
  // A quote never closed is no quoted string: a NUL "escaped" inside it is a bare one.
  return quoted && escapedNul;
}
