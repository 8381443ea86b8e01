// The sim CLI's arguments: parsed and checked apart from running, so tests can exercise them in-process.
import { parseArgs } from 'node:util';
import { CanError, JOIN_RULES, type JoinRule } from '../src/index.js';

export interface SimArgs {
  readonly n: number;
  readonly d: number;
  readonly seed: number;
  readonly join: JoinRule;
  readonly kill: number;
  readonly lookups: number;
  readonly svg?: string;
  readonly plot?: string;
}

export function parseSimArgs(argv: readonly string[]): SimArgs {
  const { values } = parseArgs({
    args: argv.filter((arg) => arg !== '--'),
    options: {
      n: { type: 'string', default: '1000' },
      d: { type: 'string', default: '4' },
      seed: { type: 'string', default: '1' },
      join: { type: 'string', default: 'uniform' },
      kill: { type: 'string', default: '0' },
      lookups: { type: 'string', default: '10000' },
      svg: { type: 'string' },
      plot: { type: 'string' },
    },
    strict: true,
  });
  const join = values.join as JoinRule;
  if (!JOIN_RULES.includes(join)) {
    throw new CanError(
      'INVALID_OPTION',
      `--join must be one of ${JOIN_RULES.join(', ')}, got ${values.join}`,
    );
  }
  const args: SimArgs = {
    n: number('n', values.n),
    d: number('d', values.d),
    seed: number('seed', values.seed),
    join,
    kill: number('kill', values.kill),
    lookups: number('lookups', values.lookups),
    ...(values.svg === undefined ? {} : { svg: values.svg }),
    ...(values.plot === undefined ? {} : { plot: values.plot }),
  };
  if (args.svg !== undefined && args.d !== 2) {
    throw new CanError('INVALID_OPTION', '--svg draws a 2-dimensional zone map: use --d 2');
  }
  return args;
}

function number(name: string, text: string): number {
  const value = Number(text);
  if (text.trim() === '' || !Number.isFinite(value)) {
    throw new CanError('INVALID_OPTION', `--${name} must be a number, got ${JSON.stringify(text)}`);
  }
  return value;
}
