#!/usr/bin/env node
// The API report of a package: one `etc/<name>.api.md` per entry point of its `exports` (`.` and e.g. `./testing`),
// written by API Extractor from the built declarations (`dist/*.d.ts`), so a change of the public surface shows
// up as a diff in review.
//
//   node tooling/scripts/api-report.mjs --check [dir...]   fail if a report differs from the built surface (lint)
//   node tooling/scripts/api-report.mjs --update [dir...]  rewrite the reports (`pnpm api:update`)
//
// Without a dir it works on the current package; `--all` takes every published package of the workspace.
// API Extractor 7.60 ships TypeScript 6.0.3, the compiler the packages build with. One API Extractor run covers
// one entry point, so the entries are read from `exports` rather than from per-package config files.
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Extractor, ExtractorConfig, ExtractorLogLevel } from '@microsoft/api-extractor';

const root = fileURLToPath(new URL('../../', import.meta.url));
const args = process.argv.slice(2);
const update = args.includes('--update');
if (!update && !args.includes('--check')) {
  console.error('usage: api-report.mjs --check|--update [--all | package dir...]');
  process.exit(2);
}

/** Every published package of the workspace (private tooling has no public surface to report). */
function workspacePackages() {
  const dirs = [];
  for (const group of ['packages', 'apps']) {
    for (const name of readdirSync(join(root, group))) {
      const manifest = join(root, group, name, 'package.json');
      if (existsSync(manifest) && !JSON.parse(readFileSync(manifest, 'utf8')).private)
        dirs.push(join(root, group, name));
    }
  }
  return dirs;
}

const named = args.filter((a) => !a.startsWith('--')).map((d) => resolve(d));
const dirs = args.includes('--all') ? workspacePackages() : named.length > 0 ? named : [process.cwd()];

/** `{ subpath, dts }` for each typed entry of `exports`: `.` → `dist/index.d.ts`, `./testing` → `dist/testing.d.ts`. */
function entryPoints(dir, manifest) {
  const entries = [];
  for (const [subpath, target] of Object.entries(manifest.exports ?? {})) {
    const types = target?.import?.types;
    if (typeof types === 'string') entries.push({ subpath, dts: join(dir, types) });
  }
  return entries;
}

/** `@xpp/dht` + `./testing` → `dht-testing`: the report's file name, `etc/dht-testing.api.md`. */
function reportName(manifest, subpath) {
  const unscoped = manifest.name.replace(/^@[^/]+\//, '');
  return subpath === '.' ? unscoped : `${unscoped}-${subpath.slice(2).replaceAll('/', '-')}`;
}

// Findings go into the report (a forgotten export is part of what a reviewer should see), not to the console;
// only a report that differs, or a compiler error, fails the check. TSDoc style is not this check's business.
const messages = {
  compilerMessageReporting: { default: { logLevel: 'error' } },
  extractorMessageReporting: {
    default: { logLevel: 'none', addToApiReportFile: true },
    // The packages use no release tags, and TSDoc links to members (`{@link close}`) are for readers, not the resolver.
    'ae-missing-release-tag': { logLevel: 'none', addToApiReportFile: false },
    'ae-unresolved-link': { logLevel: 'none', addToApiReportFile: false },
    // "(undocumented)" already marks such a member in the report; the warning would add a line number in dist.
    'ae-undocumented': { logLevel: 'none', addToApiReportFile: false },
  },
  tsdocMessageReporting: { default: { logLevel: 'none', addToApiReportFile: false } },
};

const quiet = new Set([
  'console-api-report-not-copied',
  'console-api-report-copied',
  'console-api-report-created',
]);

let failed = 0;
for (const dir of dirs) {
  const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
  for (const { subpath, dts } of entryPoints(dir, manifest)) {
    const label = `${manifest.name}${subpath === '.' ? '' : subpath.slice(1)}`;
    if (!existsSync(dts)) {
      console.error(`${label}: ${relative(root, dts)} is missing; build the package first`);
      failed++;
      continue;
    }
    const temp = join(tmpdir(), 'xpp-api-report', reportName(manifest, subpath));
    mkdirSync(temp, { recursive: true });
    if (update) mkdirSync(join(dir, 'etc'), { recursive: true });
    const config = ExtractorConfig.prepare({
      configObject: {
        projectFolder: dir,
        mainEntryPointFilePath: dts,
        compiler: {
          // The declarations are already built: analyse them alone, with the packages' own module rules.
          overrideTsconfig: {
            compilerOptions: {
              target: 'ES2022',
              lib: ['ES2023'],
              module: 'NodeNext',
              moduleResolution: 'NodeNext',
              types: ['node'],
              // Relative to the package, whose devDependencies hold its `@types/node`.
              typeRoots: [join(dir, 'node_modules/@types')],
              strict: true,
              skipLibCheck: true,
            },
            files: [dts],
          },
        },
        apiReport: {
          enabled: true,
          reportFileName: reportName(manifest, subpath),
          reportFolder: join(dir, 'etc'),
          reportTempFolder: temp,
        },
        docModel: { enabled: false },
        dtsRollup: { enabled: false },
        tsdocMetadata: { enabled: false },
        messages,
      },
      configObjectFullPath: undefined,
      packageJsonFullPath: join(dir, 'package.json'),
    });
    const result = Extractor.invoke(config, {
      localBuild: update,
      showVerboseMessages: false,
      messageCallback: (message) => {
        // Whether a report differs or was written is said below, once, with the command that fixes it.
        if (quiet.has(message.messageId)) message.logLevel = ExtractorLogLevel.None;
      },
    });
    const report = relative(root, join(dir, 'etc', `${reportName(manifest, subpath)}.api.md`));
    // The check must not rest on `succeeded` alone: API Extractor counts a changed report as a failure only
    // through the console warning silenced above.
    if (!result.succeeded || (!update && result.apiReportChanged)) {
      failed++;
      console.error(
        result.apiReportChanged
          ? `${label}: the public API differs from ${report}; review the change and run \`pnpm api:update\``
          : `${label}: API Extractor failed (${result.errorCount} error(s))`,
      );
    } else if (update && result.apiReportChanged) console.log(`${label}: updated ${report}`);
  }
}
process.exit(failed === 0 ? 0 : 1);
