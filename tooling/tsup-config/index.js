import { defineConfig } from 'tsup';

/**
 * The one build every XPP package uses: ESM and CJS side by side with their own declaration files,
 * so `exports` can point `import` and `require` at matching types (what publint and attw check).
 * @param {import('tsup').Options} [overrides]
 */
export function libraryConfig(overrides = {}) {
  return defineConfig({
    entry: ['src/index.ts'],
    format: ['esm', 'cjs'],
    // tsup's declaration build sets `baseUrl`, which TypeScript 6 deprecates; silence only that.
    dts: { compilerOptions: { ignoreDeprecations: '6.0' } },
    sourcemap: true,
    clean: true,
    target: 'node20',
    platform: 'node',
    // ESM entries of one package share chunks, so a class is the same class from every subpath export.
    splitting: true,
    treeshake: true,
    ...overrides,
  });
}
