import { WireError } from './errors.js';
import { checkUint, readU16, readU32, targetFor, writeU16, writeU32 } from './internal/bytes.js';

/** Octets of the message header (spec §3). */
export const MESSAGE_HEADER_SIZE = 12;
/** Octets of a TLV option header. */
export const OPTION_HEADER_SIZE = 4;
/** Default maximum message size (spec §3): 256 KiB, header included. */
export const DEFAULT_MAX_MESSAGE_SIZE = 256 * 1024;
/** Largest operation or option type (15 bits). */
export const MAX_TYPE = 0x7fff;
/** Largest option value (16-bit length). */
export const MAX_OPTION_VALUE_SIZE = 0xffff;

const RESPONSE_BIT = 0x8000;
const MANDATORY_BIT = 0x8000;

/** One TLV option. A decoded `value` is a view into the message bytes (no copy). */
export interface XppOption {
  readonly type: number;
  readonly mandatory: boolean;
  readonly value: Uint8Array;
}

/** The unit an application sends: an operation request or response with its options in order. */
export interface Message {
  readonly number: number;
  readonly response: boolean;
  readonly type: number;
  readonly options: readonly XppOption[];
}

/** The fixed 12-octet header: enough for a reassembler to know a message's total size from its first fragment. */
export interface MessageHeader {
  readonly number: number;
  readonly response: boolean;
  readonly type: number;
  readonly paramsLength: number;
}

export interface DecodeMessageOptions {
  /** Largest message accepted, header included. Default {@link DEFAULT_MAX_MESSAGE_SIZE}. */
  readonly maxMessageSize?: number;
}

/**
 * Reads only the message header. Rejects an announced size above `maxMessageSize` with `TOO_LARGE`, so a
 * receiver never buffers for it. Does not require the parameters to be present.
 */
export function decodeMessageHeader(bytes: Uint8Array, options?: DecodeMessageOptions): MessageHeader {
  if (bytes.length < MESSAGE_HEADER_SIZE) {
    throw new WireError('TRUNCATED', `message of ${bytes.length} octets is shorter than its 12-octet header`);
  }
  const paramsLength = readU32(bytes, 8);
  const max = options?.maxMessageSize ?? DEFAULT_MAX_MESSAGE_SIZE;
  if (MESSAGE_HEADER_SIZE + paramsLength > max) {
    throw new WireError(
      'TOO_LARGE',
      `message announces ${MESSAGE_HEADER_SIZE + paramsLength} octets, the limit is ${max}`,
    );
  }
  const typeWord = readU16(bytes, 4);
  return {
    number: readU32(bytes, 0),
    response: (typeWord & RESPONSE_BIT) !== 0,
    type: typeWord & MAX_TYPE,
    paramsLength,
  };
}

/**
 * Reads a whole message. Option values are subarrays of `bytes`.
 * Throws `WireError` (`TRUNCATED`, `TOO_LARGE`, `LENGTH_MISMATCH`) and nothing else.
 */
export function decodeMessage(bytes: Uint8Array, options?: DecodeMessageOptions): Message {
  const header = decodeMessageHeader(bytes, options);
  const end = bytes.length;
  if (header.paramsLength !== end - MESSAGE_HEADER_SIZE) {
    throw new WireError(
      'LENGTH_MISMATCH',
      `message announces ${header.paramsLength} octets of options, ${end - MESSAGE_HEADER_SIZE} follow`,
    );
  }
  const list: XppOption[] = [];
  let at = MESSAGE_HEADER_SIZE;
  while (at < end) {
    if (end - at < OPTION_HEADER_SIZE) {
      throw new WireError('TRUNCATED', `option header at octet ${at} needs 4 octets, ${end - at} remain`);
    }
    const typeWord = readU16(bytes, at);
    const length = readU16(bytes, at + 2);
    const start = at + OPTION_HEADER_SIZE;
    if (length > end - start) {
      throw new WireError(
        'TRUNCATED',
        `option at octet ${at} announces ${length} octets, ${end - start} remain`,
      );
    }
    list.push({
      type: typeWord & MAX_TYPE,
      mandatory: (typeWord & MANDATORY_BIT) !== 0,
      value: bytes.subarray(start, start + length),
    });
    at = start + length;
  }
  return { number: header.number, response: header.response, type: header.type, options: list };
}

/** Octets {@link encodeMessage} writes for `message`. */
export function messageSize(message: Message): number {
  let size = MESSAGE_HEADER_SIZE;
  const list = message.options;
  for (let i = 0; i < list.length; i++) size += OPTION_HEADER_SIZE + (list[i] as XppOption).value.length;
  return size;
}

/**
 * Encodes `message` into `target` at `offset` (checked for room) or, without a target, into a fresh view of
 * exactly the right size, which may share its `ArrayBuffer` with other encodings as `Buffer.allocUnsafe`'s do
 * (mind `.byteOffset`; do not transfer its `.buffer`). Returns the view of the written octets. Fields out of
 * range, or an `offset` without a target, throw `INVALID_FIELD`; an option value over 65535 octets throws
 * `TOO_LARGE`.
 */
export function encodeMessage(message: Message, target?: Uint8Array, offset = 0): Uint8Array {
  checkUint(message.number, 0xffffffff, 'number');
  checkUint(message.type, MAX_TYPE, 'type');
  const size = messageSize(message);
  const out = targetFor(size, target, offset, 'message');
  writeU32(out, offset, message.number);
  writeU16(out, offset + 4, (message.response ? RESPONSE_BIT : 0) | message.type);
  out[offset + 6] = 0;
  out[offset + 7] = 0;
  writeU32(out, offset + 8, size - MESSAGE_HEADER_SIZE);
  let at = offset + MESSAGE_HEADER_SIZE;
  const list = message.options;
  for (let i = 0; i < list.length; i++) {
    const option = list[i] as XppOption;
    const value = option.value;
    checkUint(option.type, MAX_TYPE, 'option type');
    if (value.length > MAX_OPTION_VALUE_SIZE) {
      throw new WireError('TOO_LARGE', `option ${option.type} value of ${value.length} octets exceeds 65535`);
    }
    writeU16(out, at, (option.mandatory ? MANDATORY_BIT : 0) | option.type);
    writeU16(out, at + 2, value.length);
    out.set(value, at + OPTION_HEADER_SIZE);
    at += OPTION_HEADER_SIZE + value.length;
  }
  return out.subarray(offset, offset + size);
}
