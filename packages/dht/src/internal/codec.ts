import { MAX_OPTION_VALUE_SIZE, WireError, type ValueCodec } from '@xpp/wire';
import { ByteReader, ByteWriter } from './bytes.js';

/**
 * A `ValueCodec` from a field writer and a field reader: the reader must consume every octet, and an encoded
 * value must fit one option (65535 octets).
 */
export function structCodec<T>(
  what: string,
  write: (w: ByteWriter, value: T) => void,
  read: (r: ByteReader) => T,
): ValueCodec<T> {
  return {
    encode(value) {
      const w = new ByteWriter();
      write(w, value);
      if (w.size > MAX_OPTION_VALUE_SIZE) {
        throw new WireError('TOO_LARGE', `${what} of ${w.size} octets exceeds ${MAX_OPTION_VALUE_SIZE}`);
      }
      return w.finish();
    },
    decode(bytes) {
      const r = new ByteReader(bytes, what);
      const value = read(r);
      r.end();
      return value;
    },
  };
}

/** Throws `BAD_VALUE` (decoding) or `INVALID_FIELD` (encoding) unless `size` is within [min, max]. */
export function checkSize(size: number, min: number, max: number, what: string, decoding: boolean): void {
  if (size < min || size > max) {
    throw new WireError(
      decoding ? 'BAD_VALUE' : 'INVALID_FIELD',
      `${what} of ${size} octets is outside ${min}..${max}`,
    );
  }
}

/** Opaque octets whose length must be within [min, max]. Decoding returns a view (no copy). */
export function boundedBytesCodec(what: string, min: number, max: number): ValueCodec<Uint8Array> {
  return {
    encode(value) {
      checkSize(value.length, min, max, what, false);
      return value;
    },
    decode(bytes) {
      checkSize(bytes.length, min, max, what, true);
      return bytes;
    },
  };
}
