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
