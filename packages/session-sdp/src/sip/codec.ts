import { SessionError } from '../errors.js';
import { SipHeaders, isToken, splitHeaderValue } from './headers.js';
import { REASON_PHRASES, type SipMessage, type SipRequest, type SipResponse } from './message.js';
import { parseNameAddr } from './name-addr.js';
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
 * What {@link decodeSip} found. A request that is well-formed enough to answer (start line, Via, From, To,
 * Call-ID and CSeq readable) but breaks a rule comes back as `answerable`, so a server can reply 400.
 */
export type SipDecodeResult =
  | { readonly ok: true; readonly message: SipMessage }
  | { readonly ok: false; readonly error: SessionError; readonly answerable?: SipRequest };

const REQUEST_LINE = /^([A-Za-z0-9.!%*_+`'~-]+) ([^\s]+) SIP\/2\.0$/;
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
  if (/[\r\n\0]/.test(lines.join(''))) throw bad('bare CR, LF or NUL inside the header section');
  const headers = readHeaders(lines, limits);
  const rest = bytes.subarray(end + HEADER_END.length);
  const request = REQUEST_LINE.exec(startLine);
  const status = request === null ? STATUS_LINE.exec(startLine) : null;
  if (request === null && status === null)
    throw bad('start line is not a request or status line', startLine, 1);
  const body = readBody(headers, rest);
  const message: SipMessage =
    request !== null
      ? { kind: 'request', method: request[1] ?? '', uri: request[2] ?? '', headers, body: body.body }
      : {
          kind: 'response',
          status: Number(status?.[1]),
          reason: status?.[2] ?? '',
          headers,
          body: body.body,
        };
  const problem = body.problem ?? requiredHeaderProblem(message);
  if (problem === undefined) return { ok: true, message };
  const error = bad(problem);
  return message.kind === 'request' && answerable(message)
    ? { ok: false, error, answerable: message }
    : { ok: false, error };
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
    const maxForwards = h.get('max-forwards');
    if (maxForwards !== undefined && !/^\d{1,3}$/.test(maxForwards)) return 'malformed Max-Forwards';
    if (!/^[A-Za-z][A-Za-z0-9+.-]*:/.test(message.uri)) return 'Request-URI has no scheme';
  }
  return undefined;
}

/** True when a 400 can be built for the request: Via, From, To, Call-ID and CSeq readable. */
function answerable(request: SipRequest): boolean {
  const h = request.headers;
  return (
    parseVia(h.get('via') ?? '') !== undefined &&
    h.has('from') &&
    h.has('to') &&
    h.has('call-id') &&
    parseCSeq(h.get('cseq')) !== undefined
  );
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
  for (const via of request.headers.getAll('via')) headers.append('Via', via);
  headers.append('From', request.headers.get('from') ?? '');
  const to = request.headers.get('to') ?? '';
  const hasTag = parseNameAddr(to)?.params.has('tag') ?? false;
  headers.append(
    'To',
    options.toTag !== undefined && !hasTag && status > 100 ? `${to};tag=${options.toTag}` : to,
  );
  headers.append('Call-ID', request.headers.get('call-id') ?? '');
  headers.append('CSeq', request.headers.get('cseq') ?? '');
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
