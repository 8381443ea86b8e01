import type { NodeConfig } from '../config.js';
import { startNode, type NodeHandle } from '../daemon.js';

/** Whoever runs a node until a signal: the process in `xpp-node start` and `join`. */
export interface NodeRunIo {
  readonly process: Pick<NodeJS.Process, 'on' | 'exit'>;
}

/**
 * Starts the node and stops it gracefully on SIGTERM or SIGINT: LEAVE with handoff, then exit 0. A second signal
 * while leaving exits at once with 1 (an impatient operator, or an orchestrator's kill after its grace period).
 */
export async function runNode(config: NodeConfig, io: NodeRunIo): Promise<NodeHandle> {
  const handle = await startNode(config);
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stopping) {
      handle.logger.warn({ signal }, 'second signal: exiting without finishing the leave');
      io.process.exit(1);
      return;
    }
    stopping = true;
    handle.logger.info({ signal }, 'stopping');
    handle.leave().then(
      () => io.process.exit(0),
      (error: unknown) => {
        handle.logger.error({ err: error }, 'stop failed');
        io.process.exit(1);
      },
    );
  };
  for (const signal of ['SIGTERM', 'SIGINT'] as const) io.process.on(signal, onSignal);
  return handle;
}
