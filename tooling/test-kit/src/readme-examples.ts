import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** One ```ts block of a package README, and what its `console.log(…); // output` comments promise it prints. */
export interface ReadmeExample {
  readonly code: string;
  /** The comment after each `console.log(…);`, in order: the lines the example must print. */
  readonly promised: readonly string[];
  /** Runs the example as an ES module inside the package (so it imports the built package by name); its stdout. */
  run(options?: { timeoutMs?: number }): string;
}

/**
 * The examples of `packageDir`/README.md. A README's example must run as printed against the built package and
 * print what its comments say: each package's README test checks that with this.
 */
export function readmeExamples(packageDir: string): ReadmeExample[] {
  const readme = readFileSync(join(packageDir, 'README.md'), 'utf8');
  return [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((match) => {
    const code = match[1] ?? '';
    return {
      code,
      promised: [...code.matchAll(/console\.log\(.*\);\s*\/\/ (.+)$/gm)].map((m) => m[1] ?? ''),
      run: (options = {}) => {
        // Inside the package, so that a bare import of the package's own name resolves (self-reference).
        const scratch = mkdtempSync(join(packageDir, 'test', '.readme-'));
        try {
          const file = join(scratch, 'example.mjs');
          writeFileSync(file, code);
          return execFileSync(process.execPath, [file], {
            encoding: 'utf8',
            timeout: options.timeoutMs ?? 20_000,
          });
        } finally {
          rmSync(scratch, { recursive: true, force: true });
        }
      },
    };
  });
}
