export { WireError, type WireErrorCode } from './errors.js';
export { XppError, isCodedError } from './coded-error.js';
export {
  XPP_VERSION,
  FRAGMENT_HEADER_SIZE,
  MAX_DATAGRAM_SIZE,
  MIN_DATAGRAM_SIZE,
  DEFAULT_DATAGRAM_SIZE,
  Flag,
  type FlagName,
  type FragmentHeader,
  type Fragment,
  type FragmentInit,
  decodeFragment,
  encodeFragment,
  encodeFragmentHeader,
  fragmentSize,
  hasFlag,
  flagsToObject,
  flagsFromObject,
} from './fragment.js';
export {
  MESSAGE_HEADER_SIZE,
  OPTION_HEADER_SIZE,
  DEFAULT_MAX_MESSAGE_SIZE,
  MAX_TYPE,
  MAX_OPTION_VALUE_SIZE,
  type XppOption,
  type Message,
  type MessageHeader,
  type DecodeMessageOptions,
  decodeMessage,
  decodeMessageHeader,
  encodeMessage,
  messageSize,
} from './message.js';
export {
  type ValueCodec,
  type ErrorValue,
  u16Codec,
  u32Codec,
  bytesCodec,
  utf8Codec,
  u16ListCodec,
  errorCodec,
} from './codecs.js';
export { Registry, OptionType, type OptionDefinition, type OperationDefinition } from './registry.js';
export {
  defaultRegistry,
  Operation,
  OperationRange,
  Option,
  ErrorCode,
  type ErrorCodeValue,
} from './base.js';
export {
  type AckRange,
  ACK_RANGE_SIZE,
  MAX_ACK_RANGE_COUNT,
  encodeAckRanges,
  decodeAckRanges,
  type AckTrailer,
  MAX_ACK_TRAILER_RANGES,
  ackTrailerSize,
  encodeAckTrailer,
  decodeAckTrailer,
} from './ack-ranges.js';
export { toHex, fromHex } from './hex.js';
export {
  type FragmentJson,
  type MessageJson,
  fragmentToJson,
  fragmentFromJson,
  messageToJson,
  messageFromJson,
  parseJson,
} from './json.js';
export { pooledAllocator } from './pooled-allocator.js';
