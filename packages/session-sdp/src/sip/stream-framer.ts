import { SessionError } from '../errors.js';

/** Default bound on one header block on a stream (start line and headers, up to the empty line). */
export const DEFAULT_STREAM_MAX_HEADER_OCTETS = 16_384;
/** Default bound on one body on a stream (its Content-Length). */
export const DEFAULT_STREAM_MAX_BODY_OCTETS = 65_536;

export interface SipStreamFramerLimits {
  /** Default {@link DEFAULT_STREAM_MAX_HEADER_OCTETS}. */
  readonly maxHeaderOctets?: number;
  /** Default {@link DEFAULT_STREAM_MAX_BODY_OCTETS}. */
  readonly maxBodyOctets?: number;
}

/**
 * What a stream yields:
 * - `message`: one SIP message's octets (header block, empty line, Content-Length octets of body), ready for the codec;
 * - `ping`: an RFC 5626 §3.5.1 keepalive (CRLF CRLF), to be answered with one CRLF (the pong);
 * - `error`: the framing is lost (no or bad Content-Length, a header block or body beyond the limits): the stream must
 *   be closed. `header` holds the header block when one was read, so a server may answer it (400, 413) first.
 *   The framer takes no more input after it.
 */
export type SipStreamFrame =
  | { readonly kind: 'message'; readonly data: Uint8Array }
  | { readonly kind: 'ping' }
  | { readonly kind: 'error'; readonly error: SessionError; readonly header?: Uint8Array };

const CR = 0x0d;
const LF = 0x0a;
const HEADER_END = Buffer.from('\r\n\r\n');
const EMPTY = Buffer.alloc(0);
const KEEPALIVE_PREFIX = Buffer.from('\r\n\r\n');
const CONTENT_LENGTH = /^(?:content-length|l)[ \t]*:[ \t]*(.*)$/i;

/**
 * Cuts a SIP byte stream (TCP, TLS) into messages by Content-Length (RFC 3261 §18.3: mandatory on streams), and
 * picks out RFC 5626 keepalive pings between messages. Pure: no sockets, no timers; never throws. Memory is bounded:
 * it holds at most one header block and one body (the limits) plus one chunk being read.
 */
export class SipStreamFramer {
  readonly #maxHeader: number;
  readonly #maxBody: number;
  /** Unconsumed input is `#store[#start, #end)`; grown by doubling so that a byte-by-byte writer costs linear time. */
  #store: Buffer = EMPTY;
  #start = 0;
  #end = 0;
  /** Where the search for the empty line resumes (no rescanning what was searched already). */
  #scanned = 0;
  /** Body octets still expected for the message whose header block is at the front of the buffer. */
  #header: { readonly end: number; readonly bodyLength: number } | undefined;
  #failed = false;
  /** Single CRLFs skipped between messages (RFC 3261 §7.5 allows them; RFC 5626 pongs are one CRLF). */
  pongs = 0;

  constructor(limits: SipStreamFramerLimits = {}) {
    this.#maxHeader = limits.maxHeaderOctets ?? DEFAULT_STREAM_MAX_HEADER_OCTETS;
    this.#maxBody = limits.maxBodyOctets ?? DEFAULT_STREAM_MAX_BODY_OCTETS;
  }

  /**
   * True between messages: nothing buffered but perhaps the start of a CRLF keepalive. No message is partly read, so
   * no slow-loris clock needs to run (an idle one does).
   */
  get atBoundary(): boolean {
    if (this.#header !== undefined) return false;
    const b = this.#buffer;
    return b.length < 4 && KEEPALIVE_PREFIX.subarray(0, b.length).equals(b);
  }

  get #buffer(): Buffer {
    return this.#store.subarray(this.#start, this.#end);
  }

  #consume(octets: number): void {
    this.#start += octets;
    this.#scanned = 0;
    // Nothing left: give the memory back (an idle connection holds no buffer).
    if (this.#start === this.#end) {
      this.#store = EMPTY;
      this.#start = this.#end = 0;
    }
  }

  #append(input: Buffer): void {
    if (this.#end + input.length > this.#store.length) {
      const live = this.#end - this.#start;
      const size = Math.max(2 * (live + input.length), 4_096);
      const grown = live + input.length <= this.#store.length ? this.#store : Buffer.allocUnsafe(size);
      this.#store.copy(grown, 0, this.#start, this.#end);
      this.#store = grown;
      this.#start = 0;
      this.#end = live;
    }
    input.copy(this.#store, this.#end);
    this.#end += input.length;
  }

  /** Octets held for a message not complete yet. */
  get buffered(): number {
    return this.#end - this.#start;
  }

  /** Whether an `error` frame ended this stream. */
  get failed(): boolean {
    return this.#failed;
  }

  /** Feeds the next chunk; returns what it completed, in order. Input after an `error` is ignored. */
  push(chunk: Uint8Array): SipStreamFrame[] {
    if (this.#failed) return [];
    const input = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    this.#append(input);
    const frames: SipStreamFrame[] = [];
    for (;;) {
      const frame = this.#next();
      if (frame === undefined) break;
      frames.push(frame);
      if (frame.kind === 'error') {
        this.#failed = true;
        this.#store = EMPTY;
        this.#start = this.#end = this.#scanned = 0;
        this.#header = undefined;
        break;
      }
    }
    return frames;
  }

  #next(): SipStreamFrame | undefined {
    if (this.#header === undefined) {
      const keepalive = this.#keepalive();
      if (keepalive !== 'none') return keepalive === 'ping' ? { kind: 'ping' } : undefined;
      const buffer = this.#buffer;
      const end = buffer.indexOf(HEADER_END, this.#scanned);
      if (end < 0) {
        this.#scanned = Math.max(0, buffer.length - HEADER_END.length + 1);
        // Keep at most a header block and its terminator: anything longer without an empty line is hostile.
        return buffer.length > this.#maxHeader + HEADER_END.length - 1
          ? fail('TOO_LARGE', `header block longer than ${this.#maxHeader} octets`)
          : undefined;
      }
      if (end > this.#maxHeader)
        return fail('TOO_LARGE', `header block longer than ${this.#maxHeader} octets`);
      const header = buffer.subarray(0, end);
      const length = contentLength(header);
      if (typeof length !== 'number') return { ...fail('BAD_SIP', length), header: Buffer.from(header) };
      if (length > this.#maxBody) {
        return {
          ...fail('TOO_LARGE', `body of ${length} octets exceeds ${this.#maxBody}`),
          header: Buffer.from(header),
        };
      }
      this.#header = { end: end + HEADER_END.length, bodyLength: length };
    }
    const total = this.#header.end + this.#header.bodyLength;
    if (this.buffered < total) return undefined;
    const data = Buffer.from(this.#buffer.subarray(0, total));
    this.#consume(total);
    this.#header = undefined;
    return { kind: 'message', data };
  }

  /**
   * Between messages: CRLF CRLF is a ping (consumed); a lone CRLF before anything else is a pong or RFC 3261 §7.5
   * padding (consumed, counted); `wait` when the buffer is a prefix of either and more must be read first.
   */
  #keepalive(): 'ping' | 'wait' | 'none' {
    for (;;) {
      const b = this.#buffer;
      if (b.length === 0) return 'wait';
      if (b[0] !== CR) return 'none';
      if (b.length < 2) return 'wait';
      if (b[1] !== LF) return 'none';
      if (b.length < 3) return 'wait';
      if (b[2] !== CR) {
        this.#consume(2);
        this.pongs++;
        continue;
      }
      if (b.length < 4) return 'wait';
      if (b[3] !== LF) return 'none';
      this.#consume(4);
      return 'ping';
    }
  }
}

function fail(code: 'BAD_SIP' | 'TOO_LARGE', message: string): SipStreamFrame & { kind: 'error' } {
  return { kind: 'error', error: new SessionError(code, message) };
}

/** The Content-Length of a header block (folded lines joined), or why there is none usable. */
function contentLength(header: Buffer): number | string {
  const lines = header.toString('latin1').split('\r\n');
  let found: number | undefined;
  for (let i = 1; i < lines.length; i++) {
    let line = lines[i] as string;
    // RFC 3261 §7.3.1: a line starting with whitespace continues the previous header.
    while (i + 1 < lines.length && /^[ \t]/.test(lines[i + 1] as string))
      line += ` ${(lines[++i] as string).trim()}`;
    const match = CONTENT_LENGTH.exec(line);
    if (match === null) continue;
    const text = (match[1] ?? '').trim();
    if (!/^\d{1,9}$/.test(text)) return `Content-Length "${text.slice(0, 20)}" is not a number`;
    const value = Number(text);
    if (found !== undefined && found !== value) return 'conflicting Content-Length headers';
    found = value;
  }
  return found ?? 'no Content-Length on a stream (RFC 3261 §18.3)';
}
