import { WireError } from '@xpp/wire';

const utf8Encoder = new TextEncoder();

/**
 * UTF-8 of `text` as a plain Uint8Array. Encoded by Buffer.from (for short text a slice of Node's pool, several
 * times faster than TextEncoder#encode); the view keeps the type plain so values compare equal to decoded ones.
 */
export function utf8(text: string): Uint8Array {
  const b = Buffer.from(text, 'utf8');
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

const utf8Decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Strict UTF-8 decoding (a BOM is kept as a character); invalid input is `BAD_VALUE`. */
export function fromUtf8(bytes: Uint8Array, what: string): string {
  try {
    return utf8Decoder.decode(bytes);
  } catch (cause) {
    throw new WireError('BAD_VALUE', `${what} is not valid UTF-8`, { cause });
  }
}

/** Throws `INVALID_FIELD` unless `v` is an integer in [0, max] (a value to encode out of range). */
export function checkUint(v: number, max: number, field: string): void {
  if (!Number.isInteger(v) || v < 0 || v > max) {
    throw new WireError('INVALID_FIELD', `${field} must be an integer in 0..${max}, got ${String(v)}`);
  }
}

/**
 * Reads length-prefixed fields from untrusted octets. Every read is bounds-checked: running short is
 * `TRUNCATED`, octets left over at `end()` are `LENGTH_MISMATCH`. Slices are views (no copy).
 */
export class ByteReader {
  #at = 0;
  readonly #bytes: Uint8Array;
  readonly #what: string;

  constructor(bytes: Uint8Array, what: string) {
    this.#bytes = bytes;
    this.#what = what;
  }

  get remaining(): number {
    return this.#bytes.length - this.#at;
  }

  #need(n: number, field: string): number {
    if (n > this.remaining) {
      throw new WireError(
        'TRUNCATED',
        `${this.#what}: ${field} needs ${n} octets at octet ${this.#at}, ${this.remaining} remain`,
      );
    }
    const at = this.#at;
    this.#at += n;
    return at;
  }

  u8(field: string): number {
    return this.#bytes[this.#need(1, field)] as number;
  }

  u16(field: string): number {
    const at = this.#need(2, field);
    return ((this.#bytes[at] as number) << 8) | (this.#bytes[at + 1] as number);
  }

  u32(field: string): number {
    const at = this.#need(4, field);
    const b = this.#bytes;
    return (
      (b[at] as number) * 0x1000000 +
      (((b[at + 1] as number) << 16) | ((b[at + 2] as number) << 8) | (b[at + 3] as number))
    );
  }

  /** A u64 as a number: one above 2^53 - 1 (no Unix time or count in this protocol) is `BAD_VALUE`. */
  u64(field: string): number {
    const high = this.u32(field);
    const low = this.u32(field);
    if (high > 0x1fffff) {
      throw new WireError('BAD_VALUE', `${this.#what}: ${field} exceeds 2^53 - 1`);
    }
    return high * 0x100000000 + low;
  }

  bytes(n: number, field: string): Uint8Array {
    const at = this.#need(n, field);
    return this.#bytes.subarray(at, at + n);
  }

  /** Octets preceded by a u8 length. */
  bytes8(field: string): Uint8Array {
    return this.bytes(this.u8(`${field} length`), field);
  }

  /** Octets preceded by a u16 length. */
  bytes16(field: string): Uint8Array {
    return this.bytes(this.u16(`${field} length`), field);
  }

  text8(field: string): string {
    return fromUtf8(this.bytes8(field), `${this.#what}: ${field}`);
  }

  /** Every octet left. */
  rest(): Uint8Array {
    return this.bytes(this.remaining, 'rest');
  }

  /** Throws `LENGTH_MISMATCH` when octets are left over: a value has exactly one encoding. */
  end(): void {
    if (this.remaining !== 0) {
      throw new WireError('LENGTH_MISMATCH', `${this.#what}: ${this.remaining} octets left over`);
    }
  }
}

/**
 * Builds a value from fields into one growing buffer (no allocation per field), checking each field against its
 * width (`INVALID_FIELD`) so that an encoder never writes what its decoder would refuse.
 */
export class ByteWriter {
  // 64 octets or less are allocated on V8's heap, much faster than a larger (off-heap) buffer.
  #buf = new Uint8Array(64);
  #size = 0;

  #room(n: number): number {
    const at = this.#size;
    if (at + n > this.#buf.length) {
      const grown = new Uint8Array(Math.max(this.#buf.length * 2, at + n));
      grown.set(this.#buf.subarray(0, at));
      this.#buf = grown;
    }
    this.#size = at + n;
    return at;
  }

  u8(v: number, field: string): this {
    checkUint(v, 0xff, field);
    const at = this.#room(1); // before reading #buf: #room may replace it
    this.#buf[at] = v;
    return this;
  }

  u16(v: number, field: string): this {
    checkUint(v, 0xffff, field);
    const at = this.#room(2);
    this.#buf[at] = v >>> 8;
    this.#buf[at + 1] = v;
    return this;
  }

  u32(v: number, field: string): this {
    checkUint(v, 0xffffffff, field);
    const at = this.#room(4);
    const b = this.#buf;
    b[at] = v >>> 24;
    b[at + 1] = v >>> 16;
    b[at + 2] = v >>> 8;
    b[at + 3] = v;
    return this;
  }

  /** A u64 from a safe integer (the high 11 bits are always zero). */
  u64(v: number, field: string): this {
    checkUint(v, Number.MAX_SAFE_INTEGER, field);
    return this.u32(Math.floor(v / 0x100000000), field).u32(v % 0x100000000, field);
  }

  bytes(b: Uint8Array): this {
    const at = this.#room(b.length);
    this.#buf.set(b, at);
    return this;
  }

  bytes8(b: Uint8Array, field: string): this {
    return this.u8(b.length, `${field} length`).bytes(b);
  }

  bytes16(b: Uint8Array, field: string): this {
    return this.u16(b.length, `${field} length`).bytes(b);
  }

  /** UTF-8 text after a length prefix of `prefix` octets (1 or 2), its octet count within [min, max]. */
  text(text: string, prefix: 1 | 2, min: number, max: number, field: string): this {
    // UTF-8 never has fewer octets than UTF-16 code units: refuse a huge string before reserving room for it.
    if (text.length > max) {
      throw new WireError('INVALID_FIELD', `${field} of ${text.length}+ octets exceeds ${max}`);
    }
    const at = this.#room(prefix + text.length * 3);
    const { written } = utf8Encoder.encodeInto(text, this.#buf.subarray(at + prefix));
    if (written < min || written > Math.min(max, prefix === 1 ? 0xff : 0xffff)) {
      throw new WireError('INVALID_FIELD', `${field} of ${written} octets is outside ${min}..${max}`);
    }
    if (prefix === 2) this.#buf[at] = written >>> 8;
    this.#buf[at + prefix - 1] = written;
    this.#size = at + prefix + written;
    return this;
  }

  get size(): number {
    return this.#size;
  }

  finish(): Uint8Array {
    return this.#buf.slice(0, this.#size);
  }
}
