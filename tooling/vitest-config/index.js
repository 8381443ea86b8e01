import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { defineConfig } from 'vitest/config';

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
 * @param {import('vitest/config').ViteUserConfig['test']} [test]
 */
export function packageConfig(test = {}) {
  return defineConfig({
    // From the config's root, not the shell's directory: a workspace run (vitest projects) has one root per package.
    plugins: [
      {
        name: 'xpp-self-aliases',
        config: (config) => ({ resolve: { alias: selfAliases(config.root ?? process.cwd()) } }),
      },
    ],
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
