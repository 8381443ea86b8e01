import { WireError } from '@xpp/wire';

const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

export function utf8(text: string): Uint8Array {
  return utf8Encoder.encode(text);
}

/** Strict UTF-8 decoding; invalid input is `BAD_VALUE`. */
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

  text16(field: string): string {
    return fromUtf8(this.bytes16(field), `${this.#what}: ${field}`);
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
 * Builds a value from fields, checking each against its field width (`INVALID_FIELD`) so that an encoder
 * never writes what its decoder would refuse.
 */
export class ByteWriter {
  readonly #parts: Uint8Array[] = [];
  #size = 0;

  #push(part: Uint8Array): this {
    this.#parts.push(part);
    this.#size += part.length;
    return this;
  }

  u8(v: number, field: string): this {
    checkUint(v, 0xff, field);
    return this.#push(Uint8Array.of(v));
  }

  u16(v: number, field: string): this {
    checkUint(v, 0xffff, field);
    return this.#push(Uint8Array.of(v >>> 8, v & 0xff));
  }

  u32(v: number, field: string): this {
    checkUint(v, 0xffffffff, field);
    return this.#push(Uint8Array.of(v >>> 24, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff));
  }

  bytes(b: Uint8Array): this {
    return this.#push(b);
  }

  bytes8(b: Uint8Array, field: string): this {
    return this.u8(b.length, `${field} length`).#push(b);
  }

  bytes16(b: Uint8Array, field: string): this {
    return this.u16(b.length, `${field} length`).#push(b);
  }

  text8(text: string, field: string): this {
    return this.bytes8(utf8(text), field);
  }

  text16(text: string, field: string): this {
    return this.bytes16(utf8(text), field);
  }

  get size(): number {
    return this.#size;
  }

  finish(): Uint8Array {
    const out = new Uint8Array(this.#size);
    let at = 0;
    for (const part of this.#parts) {
      out.set(part, at);
      at += part.length;
    }
    return out;
  }
}
