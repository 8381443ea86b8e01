import type { NodeConfig } from '../config.js';
import { REJOIN_EXIT, startNode, type NodeHandle } from '../daemon.js';

/**
 * How long a graceful stop may take before the process exits anyway with 1: a LEAVE waits for overlay requests
 * (10 s deadline each), so a peer that lost its neighbours must not hang an orchestrator's stop.
 */
export const STOP_DEADLINE_MS = 30_000;

/** Whoever runs a node until a signal: the process in `xpp-node start` and `join`. */
export interface NodeRunIo {
  readonly process: Pick<NodeJS.Process, 'on' | 'exit'>;
}

/**
 * Starts the node and stops it gracefully on SIGTERM or SIGINT: LEAVE with handoff, then exit 0. A second signal
 * while leaving exits at once with 1 (an impatient operator, or an orchestrator's kill after its grace period).
 * A peer that lost its zones in a double-ownership repair exits with `REJOIN_EXIT` (75) once it has left.
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
    // Not unref'd: it must fire even while sockets keep the event loop alive.
    setTimeout(() => {
      handle.logger.error({ deadlineMs: STOP_DEADLINE_MS }, 'stop did not finish in time: exiting');
      io.process.exit(1);
    }, STOP_DEADLINE_MS);
    handle.leave().then(
      () => io.process.exit(0),
      (error: unknown) => {
        handle.logger.error({ err: error }, 'stop failed');
        io.process.exit(1);
      },
    );
  };
  for (const signal of ['SIGTERM', 'SIGINT'] as const) io.process.on(signal, onSignal);
  // Its zones lost to a lower id that took them over while it was down: the next start is a candidate, which a
  // supervisor's restart gives it (a fresh overlay node in place would need every part rebuilt around it).
  void handle.evicted.then(() => {
    if (!stopping) io.process.exit(REJOIN_EXIT);
  });
  return handle;
}
