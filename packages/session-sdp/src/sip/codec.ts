import { SessionError } from '../errors.js';
import { SipHeaders, hasStrayControl, isToken, splitHeaderValue } from './headers.js';
import { REASON_PHRASES, type SipMessage, type SipRequest, type SipResponse } from './message.js';
import { parseNameAddr } from './name-addr.js';
import { readSipUri } from './uri.js';
import { parseVia } from './via.js';

/** Default bound on the octets of one SIP message (UDP datagram). */
export const DEFAULT_MAX_SIP_MESSAGE_OCTETS = 16_384;
/** Default bound on header entries of one message (after splitting list headers). */
export const DEFAULT_MAX_SIP_HEADERS = 64;
/** Default bound on one header line after unfolding. */
export const DEFAULT_MAX_SIP_HEADER_OCTETS = 4_096;
/** Largest CSeq sequence number (RFC 3261 §8.1.1.5: below 2^31). */
export const MAX_CSEQ = 2 ** 31 - 1;

export interface SipCodecLimits {
  /** Default {@link DEFAULT_MAX_SIP_MESSAGE_OCTETS}. */
  readonly maxMessageOctets?: number;
  /** Default {@link DEFAULT_MAX_SIP_HEADERS}. */
  readonly maxHeaders?: number;
  /** Default {@link DEFAULT_MAX_SIP_HEADER_OCTETS}. */
  readonly maxHeaderOctets?: number;
}

/**
 * What {@link decodeSip} found. A request that is well-formed enough to answer (a request line and a Via header
 * to answer along) but breaks a rule comes back as `answerable` with the `status` to reply: 400, or 505 for
 * another SIP version (RFC 4475 §3.1.2). A response that breaks a rule is only ever dropped.
 */
export type SipDecodeResult =
  | { readonly ok: true; readonly message: SipMessage }
  | {
      readonly ok: false;
      readonly error: SessionError;
      readonly answerable?: SipRequest;
      readonly status?: 400 | 505;
    };

const REQUEST_LINE = /^([A-Za-z0-9.!%*_+`'~-]+) ([^\s]+) SIP\/2\.0$/;
// What a request line looks like to a lenient reader: LWS where one SP belongs (RFC 4475 §3.1.2.8-10) or another
// version (§3.1.2.16) is still a request to answer, with 400 or 505.
const LOOSE_REQUEST_LINE = /^([A-Za-z0-9.!%*_+`'~-]+)\s+(.*?)\s*SIP\/(\d{1,3}\.\d{1,3})\s*$/;
/** Headers a request or response carries exactly once (RFC 3261 §7.3.1, RFC 4475 §3.3.8 multi01). */
const SINGLE_HEADERS = ['from', 'to', 'call-id', 'cseq', 'max-forwards'] as const;
// RFC 3261 §20.17: rfc1123-date, always GMT (RFC 4475 §3.1.2.12 baddate).
const DATE =
  /^(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} (?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d{2}:\d{2}:\d{2} GMT$/;
const STATUS_LINE = /^SIP\/2\.0 ([1-6][0-9][0-9]) ([^\r\n]*)$/;
const CSEQ = /^(\d{1,10})\s+([A-Za-z0-9.!%*_+`'~-]+)$/;
const HEADER_END = Buffer.from('\r\n\r\n');

/** Parses one datagram. Throws `SessionError` (`BAD_SIP`, `TOO_LARGE`) and nothing else. */
export function parseSipMessage(datagram: Uint8Array, limits: SipCodecLimits = {}): SipMessage {
  const result = decodeSip(datagram, limits);
  if (!result.ok) throw result.error;
  return result.message;
}

/** Parses one datagram without throwing. */
export function decodeSip(datagram: Uint8Array, limits: SipCodecLimits = {}): SipDecodeResult {
  try {
    return decodeOrThrow(datagram, limits);
  } catch (error) {
    if (SessionError.is(error)) return { ok: false, error };
    return { ok: false, error: new SessionError('BAD_SIP', 'unparseable SIP message', { cause: error }) };
  }
}

function decodeOrThrow(datagram: Uint8Array, limits: SipCodecLimits): SipDecodeResult {
  const maxOctets = limits.maxMessageOctets ?? DEFAULT_MAX_SIP_MESSAGE_OCTETS;
  if (datagram.length > maxOctets) {
    throw new SessionError('TOO_LARGE', `SIP message of ${datagram.length} octets exceeds ${maxOctets}`);
  }
  const bytes = Buffer.from(datagram.buffer, datagram.byteOffset, datagram.byteLength);
  let start = 0;
  // RFC 3261 §7.5: CRLFs before the start line are ignored (they are also the RFC 5626 keepalive).
  while (bytes[start] === 0x0d && bytes[start + 1] === 0x0a) start += 2;
  const end = bytes.indexOf(HEADER_END, start);
  if (end < 0)
    throw bad(start >= bytes.length ? 'empty message (keepalive)' : 'no empty line after the headers');
  const lines = bytes.toString('utf8', start, end).split('\r\n');
  const startLine = lines[0] ?? '';
  if (/[\r\n\0]/.test(startLine) || lines.some(hasStrayControl))
    throw bad('bare CR, LF or NUL inside the header section');
  const headers = readHeaders(lines, limits);
  const rest = bytes.subarray(end + HEADER_END.length);
  const line = readStartLine(startLine);
  const body = readBody(headers, rest);
  const message: SipMessage =
    line.kind === 'request'
      ? { kind: 'request', method: line.method, uri: line.uri, headers, body: body.body }
      : { kind: 'response', status: line.status, reason: line.reason, headers, body: body.body };
  const problem = line.problem ?? body.problem ?? requiredHeaderProblem(message);
  if (problem === undefined) return { ok: true, message };
  const error = bad(problem);
  return message.kind === 'request' && message.headers.has('via')
    ? { ok: false, error, answerable: message, status: line.version === '2.0' ? 400 : 505 }
    : { ok: false, error };
}

type StartLine =
  | { kind: 'request'; method: string; uri: string; version: string; problem?: string }
  | { kind: 'response'; status: number; reason: string; version: '2.0'; problem?: undefined };

/** The start line; throws for one that is neither a request nor a status line a server could answer or match. */
function readStartLine(text: string): StartLine {
  const request = REQUEST_LINE.exec(text);
  if (request !== null)
    return { kind: 'request', method: request[1] ?? '', uri: request[2] ?? '', version: '2.0' };
  const status = STATUS_LINE.exec(text);
  if (status !== null)
    return { kind: 'response', status: Number(status[1]), reason: status[2] ?? '', version: '2.0' };
  const loose = LOOSE_REQUEST_LINE.exec(text);
  if (loose === null || /^SIP\//i.test(text))
    throw bad('start line is not a request or status line', text, 1);
  const [, method = '', uri = '', version = ''] = loose;
  return {
    kind: 'request',
    method,
    uri,
    version,
    problem: version === '2.0' ? 'malformed Request-Line (extra whitespace)' : `SIP/${version} not supported`,
  };
}

function readHeaders(lines: readonly string[], limits: SipCodecLimits): SipHeaders {
  const maxHeaders = limits.maxHeaders ?? DEFAULT_MAX_SIP_HEADERS;
  const maxHeaderOctets = limits.maxHeaderOctets ?? DEFAULT_MAX_SIP_HEADER_OCTETS;
  const unfolded: { text: string; lineNumber: number }[] = [];
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i] ?? '';
    const last = unfolded[unfolded.length - 1];
    if (line.startsWith(' ') || line.startsWith('\t')) {
      if (last === undefined) throw bad('continuation line before any header', line, i + 1);
      last.text += ` ${line.trim()}`;
    } else {
      unfolded.push({ text: line, lineNumber: i + 1 });
    }
    if ((unfolded[unfolded.length - 1]?.text.length ?? 0) > maxHeaderOctets) {
      throw new SessionError('TOO_LARGE', `header line exceeds ${maxHeaderOctets} octets`, {
        lineNumber: i + 1,
      });
    }
  }
  const headers = new SipHeaders();
  for (const { text, lineNumber } of unfolded) {
    const colon = text.indexOf(':');
    const name = colon < 0 ? '' : text.slice(0, colon).trimEnd();
    if (!isToken(name)) throw bad('header line is not "name: value"', text, lineNumber);
    for (const value of splitHeaderValue(name, text.slice(colon + 1))) {
      if (headers.size >= maxHeaders) {
        throw new SessionError('TOO_LARGE', `more than ${maxHeaders} headers`, { line: text, lineNumber });
      }
      headers.append(name, value);
    }
  }
  return headers;
}

function readBody(headers: SipHeaders, rest: Buffer): { body: Uint8Array; problem?: string } {
  const lengths = headers.getAll('content-length');
  const declared = lengths[0];
  if (declared === undefined) return { body: new Uint8Array(rest) };
  if (!/^\d{1,10}$/.test(declared) || lengths.some((l) => l !== declared)) {
    return { body: new Uint8Array(0), problem: `bad Content-Length ${JSON.stringify(declared)}` };
  }
  const length = Number(declared);
  if (length > rest.length) {
    return {
      body: new Uint8Array(0),
      problem: `Content-Length ${length} exceeds the ${rest.length} body octets`,
    };
  }
  return { body: new Uint8Array(rest.subarray(0, length)) };
}

/** RFC 3261 §8.1.1: the headers every request and response must carry, each readable. */
function requiredHeaderProblem(message: SipMessage): string | undefined {
  const h = message.headers;
  for (const name of SINGLE_HEADERS) if (h.getAll(name).length > 1) return `more than one ${name} header`;
  const via = h.get('via');
  if (via === undefined || parseVia(via) === undefined) return 'missing or malformed Via';
  if (parseNameAddr(h.get('from') ?? '') === undefined) return 'missing or malformed From';
  if (parseNameAddr(h.get('to') ?? '') === undefined) return 'missing or malformed To';
  const callId = h.get('call-id');
  if (callId === undefined || callId.length === 0 || /\s/.test(callId)) return 'missing or malformed Call-ID';
  const cseq = parseCSeq(h.get('cseq'));
  if (cseq === undefined) return 'missing or malformed CSeq';
  if (message.kind === 'request') {
    if (cseq.method !== message.method) return `CSeq method ${cseq.method} differs from ${message.method}`;
    // Leading zeros are legal (RFC 4475 §3.1.1.1 `0068`): digits are bounded, not the value (a proxy's to judge).
    const maxForwards = h.get('max-forwards');
    if (maxForwards !== undefined && !/^\d{1,10}$/.test(maxForwards)) return 'malformed Max-Forwards';
    const uriProblem = requestUriProblem(message.uri);
    if (uriProblem !== undefined) return uriProblem;
    for (const contact of h.getAll('contact')) if (contactProblem(contact)) return 'malformed Contact';
  }
  const date = h.get('date');
  if (date !== undefined && !DATE.test(date)) return 'Date is not an RFC 1123 date in GMT';
  return undefined;
}

/** A Contact that is neither `*` nor a name-addr; a `sip:` one must be a SIP URI (RFC 5118 §4.2: IPv6 bracketed). */
function contactProblem(contact: string): boolean {
  if (contact === '*') return false;
  const uri = parseNameAddr(contact)?.uri;
  if (uri === undefined) return true;
  return /^sips?:/i.test(uri) && readSipUri(uri) === undefined;
}

/**
 * A Request-URI is an absolute URI; a `sip:`/`sips:` one must parse and carry no `?headers` (RFC 4475
 * §3.1.2.11 escruri). Other schemes parse here and are the application's to refuse (416, RFC 4475 §3.3.2).
 */
function requestUriProblem(uri: string): string | undefined {
  if (!/^[A-Za-z][A-Za-z0-9+.-]*:/.test(uri)) return 'Request-URI has no scheme';
  if (!/^sips?:/i.test(uri)) return undefined;
  const read = readSipUri(uri);
  if (read === undefined) return 'malformed SIP Request-URI';
  return read.headers === undefined ? undefined : 'Request-URI carries escaped headers';
}

/** `CSeq: 1 INVITE` → `{ seq: 1, method: 'INVITE' }`; undefined when malformed or ≥ 2^31. */
export function parseCSeq(value: string | undefined): { seq: number; method: string } | undefined {
  const match = value === undefined ? null : CSEQ.exec(value);
  if (match === null) return undefined;
  const seq = Number(match[1]);
  return seq <= MAX_CSEQ ? { seq, method: match[2] ?? '' } : undefined;
}

/**
 * Writes a message. `Content-Length` is always computed from the body (any given one is replaced). Throws
 * `INVALID_ARGUMENT` for a method, URI, status or reason that cannot be sent.
 */
export function serializeSip(message: SipMessage): Uint8Array {
  let head: string;
  if (message.kind === 'request') {
    if (!isToken(message.method) || /[\s\0]/.test(message.uri) || message.uri.length === 0) {
      throw new SessionError('INVALID_ARGUMENT', `cannot send request line ${message.method} ${message.uri}`);
    }
    head = `${message.method} ${message.uri} SIP/2.0\r\n`;
  } else {
    if (
      !Number.isInteger(message.status) ||
      message.status < 100 ||
      message.status > 699 ||
      /[\r\n\0]/.test(message.reason)
    ) {
      throw new SessionError('INVALID_ARGUMENT', `cannot send status ${message.status}`);
    }
    head = `SIP/2.0 ${message.status} ${message.reason}\r\n`;
  }
  for (const { name, value } of message.headers) {
    // Entries carry display spellings (SipHeaders), so one comparison finds every spelling of Content-Length.
    if (name !== 'Content-Length') head += `${name}: ${value}\r\n`;
  }
  head += `Content-Length: ${message.body.length}\r\n\r\n`;
  const headBytes = Buffer.from(head, 'utf8');
  const out = new Uint8Array(headBytes.length + message.body.length);
  out.set(headBytes, 0);
  out.set(message.body, headBytes.length);
  return out;
}

/**
 * A response to `request` (RFC 3261 §8.2.6): Via, From, To, Call-ID and CSeq copied, a To tag added when given
 * and absent.
 */
export function createResponse(
  request: SipRequest,
  status: number,
  options: {
    reason?: string;
    toTag?: string;
    headers?: Iterable<readonly [string, string]>;
    body?: Uint8Array;
  } = {},
): SipResponse {
  const headers = new SipHeaders();
  const copied = request.headers;
  for (const via of copied.getAll('via')) headers.append('Via', via);
  // A header the request lacks is left out rather than sent empty: a 400 answers requests missing them
  // (RFC 4475 §3.3.1 insuf).
  const from = copied.get('from');
  if (from !== undefined) headers.append('From', from);
  const to = copied.get('to');
  if (to !== undefined) {
    const hasTag = parseNameAddr(to)?.params.has('tag') ?? false;
    const tagged = options.toTag !== undefined && !hasTag && status > 100;
    headers.append('To', tagged ? `${to};tag=${options.toTag}` : to);
  }
  for (const name of ['Call-ID', 'CSeq']) {
    const value = copied.get(name);
    if (value !== undefined) headers.append(name, value);
  }
  for (const [name, value] of options.headers ?? []) headers.append(name, value);
  return {
    kind: 'response',
    status,
    reason: options.reason ?? REASON_PHRASES[status] ?? 'Unknown',
    headers,
    body: options.body ?? new Uint8Array(0),
  };
}

function bad(message: string, line?: string, lineNumber?: number): SessionError {
  return new SessionError(
    'BAD_SIP',
    line === undefined ? message : `${message} (line ${lineNumber ?? '?'})`,
    {
      ...(line === undefined ? {} : { line }),
      ...(lineNumber === undefined ? {} : { lineNumber }),
    },
  );
}
