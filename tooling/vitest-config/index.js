import { defineConfig } from 'vitest/config';

/**
 * Tests live in `test/`. Every run also writes a JSON report that `.ci/run` sums into its closing
 * `N passed, N failed` line. The machines have two cores: two workers at most.
 * @param {import('vitest/config').ViteUserConfig['test']} [test]
 */
export function packageConfig(test = {}) {
  return defineConfig({
    test: {
      include: ['test/**/*.test.ts'],
      reporters: ['default', ['json', { outputFile: 'test-results/vitest.json' }]],
      pool: 'forks',
      maxWorkers: 2,
      testTimeout: 30_000,
      hookTimeout: 30_000,
      ...test,
    },
  });
}
