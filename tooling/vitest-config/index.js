import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { configDefaults, defineConfig } from 'vitest/config';

/**
 * @typedef {NonNullable<import('vitest/config').ViteUserConfig['test']>} TestOptions
 * @typedef {object} Split
 * @property {string[]} [slow] test files (globs relative to the package) that run for ~10 s or more on the
 *   2-core machines: long simulations, churn and loss over real sockets, interop with external tools.
 */

/**
 * A package's own name resolved to its sources: `@xpp/dht` → `src/index.ts`, `@xpp/dht/testing` →
 * `src/testing/index.ts` (the entry behind each `exports` subpath's `dist/<name>.js`). Without it a test importing
 * the package name would run the built `dist` while a test of an internal module (`../src/x.js`) runs the sources:
 * two copies of every class, and `instanceof` failing between them. Other packages still resolve to their `dist`.
 * The packages' tsconfig `paths` map the same names for the type checker.
 * @param {string} dir
 */
export function selfAliases(dir) {
  const manifestPath = join(dir, 'package.json');
  if (!existsSync(manifestPath)) return [];
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8'));
  const aliases = [];
  for (const [subpath, target] of Object.entries(manifest.exports ?? {})) {
    const built = target?.import?.default;
    if (typeof built !== 'string' || !built.startsWith('./dist/')) continue;
    const stem = built.slice('./dist/'.length).replace(/\.js$/, '');
    const source = [join(dir, 'src', `${stem}.ts`), join(dir, 'src', stem, 'index.ts')].find(existsSync);
    if (!source) continue;
    const name = subpath === '.' ? manifest.name : `${manifest.name}/${subpath.slice(2)}`;
    aliases.push({ find: new RegExp(`^${name.replace(/[/.]/g, '\\$&')}$`), replacement: source });
  }
  return aliases;
}

/**
 * Tests live in `test/`. Every run also writes a JSON report that `.ci/run` sums into its closing
 * `N passed, N failed` line. The machines have two cores: two workers at most.
 *
 * The tests form two Vitest projects, so a change can be checked in seconds and the long runs stay one
 * command away: `fast` (everything not named in `slow`) and `slow`. `vitest run` runs both, so the full suite and
 * its report stay whole; `vitest run --project fast` (`pnpm test:fast`) or `--project slow` (`pnpm test:slow`)
 * run one. The split is by file, in each package's vitest.config.ts, so no test needs to know about it.
 * The packages' `test:fast` scripts add `--no-isolate`: each worker then loads a package's modules once instead of
 * once per file, which cuts the loop to less than half. `vitest run` (CI) keeps every file isolated, so a file that
 * passes alone but fails in the fast loop leaks state (timers, listeners, module globals) into the next one.
 * @param {TestOptions} [test]
 * @param {Split} [split]
 */
export function packageConfig(test = {}, { slow = [] } = {}) {
  // `include` and `exclude` belong to the projects: with `extends: true` a project's arrays are appended to the
  // root's, so a root `include` would pull every file into `slow` as well.
  const { include = ['test/**/*.test.ts'], exclude = configDefaults.exclude, ...shared } = test;
  /** @type {NonNullable<TestOptions['projects']>} */
  const projects = [{ extends: true, test: { name: 'fast', include, exclude: [...exclude, ...slow] } }];
  if (slow.length > 0) projects.push({ extends: true, test: { name: 'slow', include: slow, exclude } });
  return defineConfig({
    // From the config's root, not the shell's directory: a workspace run (vitest projects) has one root per package.
    plugins: [
      {
        name: 'xpp-self-aliases',
        config: (config) => ({ resolve: { alias: selfAliases(config.root ?? process.cwd()) } }),
      },
    ],
    test: {
      reporters: ['default', ['json', { outputFile: 'test-results/vitest.json' }]],
      pool: 'forks',
      maxWorkers: 2,
      testTimeout: 30_000,
      hookTimeout: 30_000,
      ...shared,
      projects,
    },
  });
}
