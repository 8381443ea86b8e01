import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

// The README's example must run as printed, against the built package, and print what its comments say.
const packageDir = fileURLToPath(new URL('..', import.meta.url));
const scratch = mkdtempSync(`${packageDir}test/.readme-`);
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('README', () => {
  it('runs the example over loopback UDP and prints what its comments say', () => {
    const readme = readFileSync(`${packageDir}README.md`, 'utf8');
    const example = /```ts\n([\s\S]*?)```/.exec(readme)?.[1] ?? '';
    const promised = [...example.matchAll(/^console\.log\(.*; \/\/ (.+)$/gm)].map((m) => m[1]!);
    expect(promised).toHaveLength(5);
    const file = `${scratch}/example.mjs`;
    writeFileSync(file, example);
    expect(execFileSync(process.execPath, [file], { encoding: 'utf8', timeout: 20_000 })).toBe(
      `${promised.join('\n')}\n`,
    );
  });
});
