import { WireError } from './errors.js';
import { checkUint, readU16, readU32, writeU16, writeU32 } from './internal/bytes.js';
import { MAX_OPTION_VALUE_SIZE } from './message.js';

/** Typed value ↔ option octets. `decode` throws `WireError` (`BAD_VALUE`, `LENGTH_MISMATCH`) on bad input. */
export interface ValueCodec<T> {
  encode(value: T): Uint8Array;
  decode(bytes: Uint8Array): T;
}

function fixedLength(bytes: Uint8Array, length: number, what: string): void {
  if (bytes.length !== length) {
    throw new WireError('LENGTH_MISMATCH', `${what} value must be ${length} octets, got ${bytes.length}`);
  }
}

function checkValueSize(size: number, what: string): void {
  if (size > MAX_OPTION_VALUE_SIZE) {
    throw new WireError('TOO_LARGE', `${what} value of ${size} octets exceeds ${MAX_OPTION_VALUE_SIZE}`);
  }
}

const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function decodeUtf8(bytes: Uint8Array, what: string): string {
  try {
    return utf8Decoder.decode(bytes);
  } catch (cause) {
    throw new WireError('BAD_VALUE', `${what} is not valid UTF-8`, { cause });
  }
}

/** A big-endian u16. */
export const u16Codec: ValueCodec<number> = {
  encode(value) {
    checkUint(value, 0xffff, 'u16');
    const out = new Uint8Array(2);
    writeU16(out, 0, value);
    return out;
  },
  decode(bytes) {
    fixedLength(bytes, 2, 'u16');
    return readU16(bytes, 0);
  },
};

/** A big-endian u32. */
export const u32Codec: ValueCodec<number> = {
  encode(value) {
    checkUint(value, 0xffffffff, 'u32');
    const out = new Uint8Array(4);
    writeU32(out, 0, value);
    return out;
  },
  decode(bytes) {
    fixedLength(bytes, 4, 'u32');
    return readU32(bytes, 0);
  },
};

/** Opaque octets; decoding returns the view itself (no copy). */
export const bytesCodec: ValueCodec<Uint8Array> = {
  encode(value) {
    checkValueSize(value.length, 'opaque');
    return value;
  },
  decode(bytes) {
    return bytes;
  },
};

/** UTF-8 text, strictly validated on decode. */
export const utf8Codec: ValueCodec<string> = {
  encode(value) {
    const out = utf8Encoder.encode(value);
    checkValueSize(out.length, 'text');
    return out;
  },
  decode(bytes) {
    return decodeUtf8(bytes, 'text');
  },
};

/** A list of big-endian u16 (e.g. the option types of UNKNOWN-OPTIONS). */
export const u16ListCodec: ValueCodec<readonly number[]> = {
  encode(values) {
    checkValueSize(values.length * 2, 'u16 list');
    const out = new Uint8Array(values.length * 2);
    values.forEach((v, i) => {
      checkUint(v, 0xffff, 'u16 list item');
      writeU16(out, i * 2, v);
    });
    return out;
  },
  decode(bytes) {
    if (bytes.length % 2 !== 0) {
      throw new WireError(
        'LENGTH_MISMATCH',
        `u16 list of ${bytes.length} octets is not a whole number of items`,
      );
    }
    const out: number[] = [];
    for (let at = 0; at < bytes.length; at += 2) out.push(readU16(bytes, at));
    return out;
  },
};

/** The value of an ERROR option: a u16 code, then a UTF-8 reason (spec §3). */
export interface ErrorValue {
  readonly code: number;
  readonly reason: string;
}

export const errorCodec: ValueCodec<ErrorValue> = {
  encode(value) {
    checkUint(value.code, 0xffff, 'error code');
    const reason = utf8Encoder.encode(value.reason);
    checkValueSize(2 + reason.length, 'ERROR');
    const out = new Uint8Array(2 + reason.length);
    writeU16(out, 0, value.code);
    out.set(reason, 2);
    return out;
  },
  decode(bytes) {
    if (bytes.length < 2)
      throw new WireError('BAD_VALUE', `ERROR value of ${bytes.length} octets has no code`);
    return { code: readU16(bytes, 0), reason: decodeUtf8(bytes.subarray(2), 'ERROR reason') };
  },
};
