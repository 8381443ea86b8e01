export {
  Testnet,
  createTestnet,
  type TestnetOptions,
  type SettleOptions,
  type TestnetNetwork,
  type TestnetNodeOptions,
  type TestnetTraffic,
  type InviterChoice,
} from './testnet.js';
export {
  ImpairedTransport,
  type ImpairedTransportOptions,
  type ImpairedTransportStats,
} from './impaired-transport.js';
export { waitFor, type WaitOptions } from './wait.js';
export { TestnetMembership, EXPIRING_SECONDS, type TestnetCertificate } from './membership.js';
export { ZoneHistory, tilingProblems, type TilingProblem } from './zone-history.js';
export { TestnetError, type TestnetErrorCode } from './errors.js';
export { workloadRecord, workloadUri, type WorkloadRecord } from './workload.js';
export {
  recordStoreContract,
  type ContractTestApi,
  type RecordStoreFactory,
} from './record-store-contract.js';
