import { bytesCodec, errorCodec, u16ListCodec, u32Codec } from './codecs.js';
import { Registry } from './registry.js';

/** The registry every XPP endpoint starts from: the base types of spec §3, plus what upper packages define. */
export const defaultRegistry = new Registry();

/** Base operation types (spec §3). */
export const Operation = {
  PING: defaultRegistry.defineOperation({ type: 0x0001, name: 'PING' }),
  ECHO_SIZE: defaultRegistry.defineOperation({ type: 0x0002, name: 'ECHO-SIZE' }),
} as const;

/** Operation type ranges (spec §3). */
export const OperationRange = {
  BASE: { first: 0x0001, last: 0x00ff },
  PCAN: { first: 0x0100, last: 0x3fff },
  PRIVATE: { first: 0x4000, last: 0x7fff },
} as const;

/** Base option types (spec §3) with their typed value codecs. */
export const Option = {
  ERROR: defaultRegistry.defineOption({ type: 0x0001, name: 'ERROR', codec: errorCodec }),
  UNKNOWN_OPTIONS: defaultRegistry.defineOption({
    type: 0x0002,
    name: 'UNKNOWN-OPTIONS',
    codec: u16ListCodec,
  }),
  DATA: defaultRegistry.defineOption({ type: 0x0003, name: 'DATA', codec: bytesCodec }),
  RETRY_AFTER: defaultRegistry.defineOption({ type: 0x0004, name: 'RETRY-AFTER', codec: u32Codec }),
  SIZE: defaultRegistry.defineOption({ type: 0x0005, name: 'SIZE', codec: u32Codec }),
} as const;

/** Error codes carried in ERROR (spec §3), as in SIP/HTTP. */
export const ErrorCode = {
  BAD_REQUEST: 400,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  TIMEOUT: 408,
  CONFLICT: 409,
  TOO_LARGE: 413,
  UNKNOWN_OPTION: 420,
  UNAVAILABLE: 480,
  INTERNAL: 500,
  OVERLOADED: 503,
} as const;
export type ErrorCodeValue = (typeof ErrorCode)[keyof typeof ErrorCode];
