import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { parseSimArgs } from '../scripts/sim-args.js';

// The `sim` script as `pnpm --filter @xpp/can sim …` runs it: node with tsx, in the package directory.
const packageDir = fileURLToPath(new URL('..', import.meta.url));
const scratch = mkdtempSync(join(tmpdir(), 'xpp-can-cli-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function sim(...args: string[]) {
  const run = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/sim.ts', ...args], {
    cwd: packageDir,
    encoding: 'utf8',
  });
  const lines = run.stdout.trim().split('\n');
  return { status: run.status, stderr: run.stderr, lines, last: lines[lines.length - 1] ?? '' };
}

describe('sim CLI', () => {
  it('prints one JSON line last with the figures the issue names', () => {
    const run = sim(
      '--n',
      '500',
      '--d',
      '3',
      '--seed',
      '9',
      '--join',
      'split',
      '--kill',
      '0.2',
      '--lookups',
      '300',
    );
    expect(run.status).toBe(0);
    const report = JSON.parse(run.last) as Record<string, unknown>;
    expect(Object.keys(report).slice(0, 8)).toEqual([
      'n',
      'd',
      'meanHops',
      'p99Hops',
      'meanNeighbours',
      'owners',
      'buildMs',
      'routeMs',
    ]);
    expect(report).toMatchObject({
      n: 500,
      d: 3,
      owners: 'ok',
      join: 'split',
      seed: 9,
      killed: 100,
      alive: 400,
    });
    // The same seed gives the same overlay and lookups.
    const again = JSON.parse(
      sim('--n', '500', '--d', '3', '--seed', '9', '--join', 'split', '--kill', '0.2', '--lookups', '300')
        .last,
    ) as Record<string, unknown>;
    expect(again['meanHops']).toBe(report['meanHops']);
  });

  it('draws the zone map of a 2-dimensional overlay with a route', () => {
    const file = `${scratch}/zones.svg`;
    const run = sim('--n', '64', '--d', '2', '--lookups', '10', '--svg', file);
    expect(run.status).toBe(0);
    const svg = readFileSync(file, 'utf8');
    expect(svg.match(/<rect x=/g)).toHaveLength(64);
    expect(svg).toContain('<line');
    expect(run.lines.at(-2)).toMatch(/^wrote .*zones\.svg: 64 zones, a route of \d+ hops$/);
  });

  it('explains bad arguments on stderr and exits 2', () => {
    const run = sim('--d', '9');
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(/^sim: dimensions must be an integer in 1\.\.8/);
  });

  it('checks its arguments', () => {
    expect(parseSimArgs(['--', '--n', '10', '--join', 'balanced', '--svg', 'z.svg', '--d', '2'])).toEqual({
      n: 10,
      d: 2,
      seed: 1,
      join: 'balanced',
      kill: 0,
      lookups: 10_000,
      svg: 'z.svg',
    });
    for (const args of [
      ['--join', 'random'],
      ['--n', 'x'],
      ['--kill', ''],
      ['--svg', 'a.svg', '--d', '3'],
    ]) {
      expect(() => parseSimArgs(args), args.join(' ')).toThrow(
        expect.objectContaining({ code: 'INVALID_OPTION' }),
      );
    }
    expect(() => parseSimArgs(['--bogus', '1'])).toThrow(TypeError);
  });
});
