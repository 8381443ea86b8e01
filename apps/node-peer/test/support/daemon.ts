import { Writable } from 'node:stream';
import { configSchema, type NodeConfig, type NodeConfigInput } from '../../src/config.js';
import { startNode, type NodeHandle } from '../../src/daemon.js';
import { createLogger } from '../../src/logger.js';
import { NodeMetrics } from '../../src/metrics.js';

/** A log destination that drops everything. */
export const quiet = new Writable({ write: (_chunk, _encoding, done) => done() });

/**
 * A daemon configuration on any free ports in `dataDir`, with an invite policy that invites nobody (a test makes
 * peers itself); `extra` overrides any of it.
 */
export function nodeConfig(dataDir: string, extra: NodeConfigInput = {}): NodeConfig {
  return configSchema.parse({
    sipPort: 0,
    xppPort: 0,
    httpPort: 0,
    dimensions: 2,
    dataDir,
    invitePolicy: { maxClients: 0, minStableFlowMs: 0 },
    ...extra,
  });
}

/**
 * Starts a daemon in this process and adds it to `started` (the test's afterEach closes them). Its log goes
 * nowhere, or line by line into `log` when given; no process metrics, which would be shared between daemons.
 */
export async function startDaemon(
  config: NodeConfig,
  started: NodeHandle[],
  log?: string[],
): Promise<NodeHandle> {
  const destination =
    log === undefined
      ? quiet
      : new Writable({
          write: (chunk, _encoding, done) => {
            log.push(String(chunk));
            done();
          },
        });
  const handle = await startNode(config, {
    logger: createLogger({ logLevel: 'info' }, { pretty: false, destination }),
    metrics: new NodeMetrics({ processMetrics: false }),
  });
  started.push(handle);
  return handle;
}
