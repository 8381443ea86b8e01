import { configDefaults, defineConfig } from 'vitest/config';

/**
 * @typedef {NonNullable<import('vitest/config').ViteUserConfig['test']>} TestOptions
 * @typedef {object} Split
 * @property {string[]} [slow] test files (globs relative to the package) that run for ~10 s or more on the
 *   2-core machines: long simulations, churn and loss over real sockets, interop with external tools.
 */

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
