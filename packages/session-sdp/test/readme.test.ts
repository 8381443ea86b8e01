import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

// The README's example must run as printed, against the built package, and print what its comments say.
const packageDir = fileURLToPath(new URL('..', import.meta.url));
const scratch = mkdtempSync(`${packageDir}test/.readme-`);
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('README', () => {
  const readme = readFileSync(`${packageDir}README.md`, 'utf8');
  const examples = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1] ?? '');

  it('has the two examples', () => {
    expect(examples).toHaveLength(2);
  });

  examples.forEach((example, i) => {
    it(`runs example ${i + 1} over loopback UDP and prints what its comments say`, () => {
      const promised = [...example.matchAll(/^\s*console\.log\(.*; \/\/ (.+)$/gm)].map((m) => m[1]!);
      expect(promised.length).toBeGreaterThanOrEqual(2);
      const file = `${scratch}/example-${i + 1}.mjs`;
      writeFileSync(file, example);
      expect(execFileSync(process.execPath, [file], { encoding: 'utf8', timeout: 20_000 })).toBe(
        `${promised.join('\n')}\n`,
      );
    });
  });
});
