// The package graph of docs/architecture.md, checked by dependency-cruiser (`pnpm lint:deps`, part of `pnpm lint`
// and `npm test`). A package may import only the packages below it; apps and packages import another package by
// its name and its package.json `exports` (`@xpp/reliability/testing`), never its `src/` or `dist/` files.
// Run it after `pnpm build`: a package name resolves to the built `dist/` its `exports` name.

/** The edges drawn in docs/architecture.md ("each package depends only on packages below it"). */
const drawn = {
  'packages/wire': [],
  'packages/fragment': ['packages/wire'],
  'packages/reliability': ['packages/fragment', 'packages/wire'],
  'packages/session-sdp': ['packages/reliability'],
  'packages/can': ['packages/wire'],
  'packages/dht': ['packages/can', 'packages/session-sdp'],
  'apps/node-peer': ['packages/dht', 'packages/session-sdp'],
};

// A package that is not in the drawing has no place in the layers yet: say where it goes before it is checked.
const { existsSync, readdirSync } = require('node:fs');
const { join } = require('node:path');
for (const group of ['packages', 'apps']) {
  for (const name of readdirSync(join(__dirname, group))) {
    const pkg = `${group}/${name}`;
    if (existsSync(join(__dirname, pkg, 'package.json')) && !(pkg in drawn))
      throw new Error(
        `.dependency-cruiser.cjs: ${pkg} is not in the drawn graph; add it with the packages it may import`,
      );
  }
}

// A package may use everything below it, not only its direct neighbours in the drawing (dht uses wire's codecs).
// Walking the drawing also proves it acyclic. That is what rules out cycles between packages: every import of
// another package must follow an edge of this acyclic drawing. (A module-level `circular` rule could not see
// them: an import of `@xpp/x` ends at x's built `dist/`, which is not followed.)
function below(pkg, path = []) {
  if (path.includes(pkg))
    throw new Error(`.dependency-cruiser.cjs: cycle in the drawn graph: ${[...path, pkg].join(' → ')}`);
  const direct = drawn[pkg];
  if (!direct) throw new Error(`.dependency-cruiser.cjs: ${pkg} is not in the drawn graph`);
  return [...new Set(direct.flatMap((dep) => [dep, ...below(dep, [...path, pkg])]))];
}

const escape = (text) => text.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');
const workspacePackage = '^(packages|apps)/[^/]+/';

const layerRules = Object.keys(drawn).map((pkg) => ({
  name: `layers:${pkg.split('/')[1]}`,
  comment:
    `${pkg} may import only ${below(pkg).join(', ') || 'no other package'} (docs/architecture.md). ` +
    'Importing a package above it, or beside it, breaks the layering and can close a cycle.',
  severity: 'error',
  from: { path: `^${escape(pkg)}/` },
  to: {
    path: workspacePackage,
    pathNot: [pkg, ...below(pkg)].map((allowed) => `^${escape(allowed)}/`),
  },
}));

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    ...layerRules,
    {
      name: 'no-deep-import',
      comment:
        "Another package's src/ or dist/ reached by a relative path: import it by its name, so that only what " +
        'its package.json `exports` name is used.',
      severity: 'error',
      from: { path: '^(packages|apps)/([^/]+)/' },
      to: {
        path: '^(packages|apps)/[^/]+/(src|dist)/',
        pathNot: '^$1/$2/',
        dependencyTypes: ['local'],
      },
    },
    {
      name: 'no-unresolvable-package',
      comment:
        "An @xpp import that its package's `exports` does not name (a deep import such as @xpp/wire/src/codec.js), " +
        'or the packages are not built yet (run pnpm build first).',
      severity: 'error',
      from: {},
      to: { couldNotResolve: true, path: '^@xpp/' },
    },
    {
      name: 'test-tooling-below-packages',
      comment:
        'Shared test helpers (@xpp/test-kit, @xpp/netns) serve the lowest packages too: they may not import one.',
      severity: 'error',
      from: { path: '^tooling/(test-kit|netns)/' },
      to: { path: workspacePackage },
    },
  ],
  options: {
    doNotFollow: { path: ['node_modules', `${workspacePackage}dist/`] },
    exclude: { path: ['(^|/)node_modules/', `${workspacePackage}(test-results|coverage)/`] },
    // Type-only imports count: `import type` from a package above is the same layering break.
    tsPreCompilationDeps: true,
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      mainFields: ['module', 'main', 'types'],
      // Sources are NodeNext ESM: dependency-cruiser maps `./codec.js` to `./codec.ts` itself.
      extensions: ['.ts', '.mts', '.cts', '.js', '.mjs', '.cjs', '.json'],
    },
    reporterOptions: { text: { highlightFocused: true } },
  },
};
