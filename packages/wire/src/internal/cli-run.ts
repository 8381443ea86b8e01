import { parseArgs } from 'node:util';
import { WireError } from '../errors.js';
import { decodeFragment, encodeFragment } from '../fragment.js';
import { fromHex, toHex } from '../hex.js';
import { fragmentFromJson, fragmentToJson, messageFromJson, messageToJson, parseJson } from '../json.js';
import { decodeMessage, encodeMessage } from '../message.js';

export interface CliResult {
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
}

export const USAGE = `usage: xpp-wire <command> [--message] <input>

commands:
  decode <hex>     print a fragment (or with --message, a message) as one JSON line
  encode <json>    print the hex of a fragment (or with --message, a message) given as JSON

exit status: 0 ok, 1 malformed input (WireError <CODE>: <reason> on stderr), 2 usage`;

/** The CLI as a pure function of its arguments, so it is tested without spawning a process. */
export function runCli(argv: readonly string[]): CliResult {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      options: { message: { type: 'boolean', short: 'm' }, help: { type: 'boolean', short: 'h' } },
    });
  } catch (error) {
    return { exitCode: 2, stdout: '', stderr: `${(error as Error).message}\n${USAGE}\n` };
  }
  const { values, positionals } = parsed;
  if (values.help) return { exitCode: 0, stdout: `${USAGE}\n`, stderr: '' };
  const [command, input, ...extra] = positionals;
  if ((command !== 'decode' && command !== 'encode') || input === undefined || extra.length > 0) {
    return { exitCode: 2, stdout: '', stderr: `${USAGE}\n` };
  }
  try {
    const output =
      command === 'decode'
        ? JSON.stringify(
            values.message
              ? messageToJson(decodeMessage(fromHex(input)))
              : fragmentToJson(decodeFragment(fromHex(input))),
          )
        : toHex(
            values.message
              ? encodeMessage(messageFromJson(parseJson(input)))
              : encodeFragment(fragmentFromJson(parseJson(input))),
          );
    return { exitCode: 0, stdout: `${output}\n`, stderr: '' };
  } catch (error) {
    if (WireError.is(error))
      return { exitCode: 1, stdout: '', stderr: `WireError ${error.code}: ${error.message}\n` };
    throw error;
  }
}
