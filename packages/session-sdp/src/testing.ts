export { MemoryTransport } from './transport/memory-transport.js';
