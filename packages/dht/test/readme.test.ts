import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

// The README's example must run as printed, against the built package, with the output its comments claim.
const packageDir = fileURLToPath(new URL('..', import.meta.url));
const scratch = mkdtempSync(`${packageDir}test/.readme-`);
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('README', () => {
  it('runs the example and prints what its comments say', () => {
    const readme = readFileSync(`${packageDir}README.md`, 'utf8');
    const example = /```ts\n([\s\S]*?)```/.exec(readme)?.[1];
    expect(example).toBeDefined();
    const file = `${scratch}/example.mjs`;
    writeFileSync(file, example ?? '');
    expect(execFileSync(process.execPath, [file], { encoding: 'utf8' })).toBe(
      'sip:alice@example.org true\n0\nBAD_SIGNATURE 403\n',
    );
  });
});
