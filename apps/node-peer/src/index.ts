export { NodeError, type NodeErrorCode } from './errors.js';
export {
  configSchema,
  type NodeConfig,
  type NodeConfigInput,
  type ConfigLayer,
  ENV_VARS,
  envLayer,
  fileLayer,
  flagLayer,
  resolveConfig,
} from './config.js';
export { createLogger, type Logger } from './logger.js';
export { NodeMetrics } from './metrics.js';
export { startOpsHttpServer, type OpsHttpServer } from './http-server.js';
export { startNode, candidateAor, REJOIN_EXIT, type StartNodeOptions, type NodeHandle } from './daemon.js';
export { type NodeStatus } from './status.js';
export { keygen, DATA_FILES, type KeygenResult } from './data-dir.js';
export { loadMembership, certificateProblem, type NodeKeys } from './membership/setup.js';
export { EnrollmentTokens, MAX_ENROLLMENT_TOKENS, type EnrollmentRefusal } from './membership/tokens.js';
export {
  EnrollmentServer,
  DEFAULT_CERTIFICATE_DAYS,
  type EnrollmentServerOptions,
  type EnrollRefusalReason,
} from './membership/enrollment-server.js';
export { enrollWithToken, renewCertificate } from './membership/enrollment-client.js';
export {
  CertificateWatch,
  DEGRADED_DAYS,
  presentRenewal,
  type RenewableNode,
} from './membership/certificate-watch.js';
export {
  storeCredential,
  storeRemoval,
  importLegacyCredentials,
  LEGACY_CREDENTIALS_FILE,
  IMPORTED_CREDENTIALS_FILE,
} from './users/credential-writes.js';
export {
  MAX_ADMIN_BODY,
  ADMIN_CREDENTIALS_PATH,
  ADMIN_TOKENS_PATH,
  ADMIN_REVOCATIONS_PATH,
  ADMIN_REMOVALS_PATH,
  type AdminHandlers,
  type AdminRoute,
  type OpsHttpOptions,
} from './http-server.js';
export {
  AdminRequestGuard,
  signAdminRequest,
  type SignedAdminRequest,
  type AdminRefusal,
} from './admin-auth.js';
export { SipFront, type SipFrontOptions, type SipFrontStats } from './sip/front.js';
export { DEFAULT_MAX_BRANCHES, DEFAULT_TIMER_C_MS } from './proxy/fork.js';
export { DEFAULT_AUTH_LIMITS, type AuthLimits } from './registrar/auth-limiter.js';
export { registerAsCandidate, type CandidateOptions, type CandidateResult } from './sip/candidate.js';
export {
  SqliteRecordStore,
  type SqliteRecordStoreOptions,
  type SqliteLoadReport,
} from './store/sqlite-record-store.js';
export { MIGRATIONS, SCHEMA_VERSION, type Migration, type MigrationDatabase } from './store/schema.js';
