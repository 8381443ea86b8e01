import pino, { type Logger } from 'pino';
import type { NodeConfig } from './config.js';

export type { Logger };

/**
 * JSON lines for machines; pretty, coloured lines when a person watches a terminal. `pretty` may be forced
 * either way (tests force JSON).
 */
export function createLogger(
  config: Pick<NodeConfig, 'logLevel'>,
  options: { pretty?: boolean; destination?: NodeJS.WritableStream } = {},
): Logger {
  const pretty = options.pretty ?? (process.stdout.isTTY === true && options.destination === undefined);
  const base = {
    level: config.logLevel,
    base: { pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  if (pretty) {
    return pino({
      ...base,
      transport: { target: 'pino-pretty', options: { colorize: true, translateTime: 'SYS:HH:MM:ss.l' } },
    });
  }
  return options.destination ? pino(base, options.destination) : pino(base);
}
