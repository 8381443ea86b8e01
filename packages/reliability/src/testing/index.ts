export { FakeClock } from './fake-clock.js';
export {
  MemoryNetwork,
  memoryChannelPair,
  type MemoryNetworkOptions,
  type MemoryEndpoint,
  type DatagramListener,
} from './memory-network.js';
export { LossyRelay, type LossyRelayOptions, type LossyRelayStats } from './lossy-relay.js';
export { seededRandom } from '../internal/random.js';
