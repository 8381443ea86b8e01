export { MemoryTransport } from './transport/memory-transport.js';
export { RFC4475_VALID } from './testing/rfc4475-valid.js';
export { RFC4475_INVALID, RFC4475_PARSEABLE } from './testing/rfc4475-invalid.js';
export type { SipTortureExpectation, SipTortureMessage } from './testing/torture-builders.js';
