import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runCli } from '../src/internal/cli-run.js';

const bin = fileURLToPath(new URL('../bin/xpp-wire.js', import.meta.url));
const GOLDEN_1 =
  '{"version":1,"flags":{"syn":true,"ack":false,"rel":true,"lfr":false,"kpa":false},"seq":4660,"localId":43690,"remoteId":48059,"payload":""}';
const GOLDEN_2 =
  '{"number":7,"response":false,"type":1,"options":[{"type":3,"mandatory":false,"value":"6869"}]}';

function xppWire(...args: string[]) {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('xpp-wire (the built executable)', () => {
  it('decodes the golden fragment to the documented JSON line', () => {
    expect(xppWire('decode', '10141234aaaabbbb')).toEqual({ status: 0, stdout: `${GOLDEN_1}\n`, stderr: '' });
  });

  it('decodes the golden message with --message', () => {
    expect(xppWire('decode', '--message', '000000070001000000000006000300026869')).toEqual({
      status: 0,
      stdout: `${GOLDEN_2}\n`,
      stderr: '',
    });
  });

  it('encodes the same JSON back to lower-case hex', () => {
    expect(xppWire('encode', GOLDEN_1).stdout).toBe('10141234aaaabbbb\n');
    expect(xppWire('encode', '--message', GOLDEN_2).stdout).toBe('000000070001000000000006000300026869\n');
  });

  it('fails malformed input with exit 1, the WireError code on stderr and nothing on stdout', () => {
    expect(xppWire('decode', '20141234aaaabbbb')).toEqual({
      status: 1,
      stdout: '',
      stderr: 'WireError BAD_VERSION: fragment version 2, expected 1\n',
    });
    const truncated = xppWire('decode', '--message', '0000');
    expect(truncated.status).toBe(1);
    expect(truncated.stdout).toBe('');
    expect(truncated.stderr).toMatch(/^WireError TRUNCATED: /);
  });
});

describe('runCli', () => {
  it.each([
    [['decode', 'zz'], 'BAD_HEX'],
    [['decode', 'abc'], 'BAD_HEX'],
    [['encode', '{'], 'BAD_JSON'],
    [['encode', '{"seq":1}'], 'BAD_JSON'],
    [['encode', '{"seq":70000,"localId":1,"remoteId":2}'], 'INVALID_FIELD'],
    [['encode', '{"seq":1,"localId":1,"remoteId":2,"extra":1}'], 'BAD_JSON'],
    [['encode', '--message', '{"number":1,"type":1,"options":[{"type":3,"value":"zz"}]}'], 'BAD_HEX'],
    [['decode', '--message', '000000070001000000000007000300026869'], 'LENGTH_MISMATCH'],
  ])('%j fails with %s', (argv, code) => {
    const r = runCli(argv);
    expect(r.exitCode).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr.startsWith(`WireError ${code}: `)).toBe(true);
  });

  it('answers usage errors with exit 2 and help with exit 0', () => {
    expect(runCli([]).exitCode).toBe(2);
    expect(runCli(['frobnicate', 'x']).exitCode).toBe(2);
    expect(runCli(['decode']).exitCode).toBe(2);
    expect(runCli(['decode', '--bogus', '00']).exitCode).toBe(2);
    expect(runCli(['--help'])).toMatchObject({ exitCode: 0, stderr: '' });
  });

  it('accepts spaced, colon-separated and 0x-prefixed hex', () => {
    expect(runCli(['decode', '0x10 14:12 34 AA AA BB BB']).stdout).toBe(`${GOLDEN_1}\n`);
  });
});
