// One fake clock and one waitFor for every package's tests, from `@xpp/fragment/testing`.
export {
  FakeClock,
  FAKE_WALL_START,
  waitFor,
  WaitError,
  type WaitErrorCode,
  type WaitOptions,
} from '@xpp/fragment/testing';
export {
  MemoryNetwork,
  memoryChannelPair,
  type MemoryNetworkOptions,
  type MemoryEndpoint,
  type DatagramListener,
} from './memory-network.js';
export { LossyRelay, type LossyRelayOptions, type LossyRelayStats } from './lossy-relay.js';
export { seededRandom } from '../internal/random.js';
