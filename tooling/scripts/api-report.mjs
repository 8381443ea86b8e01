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
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
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

// API Extractor compares and copies reports itself; this script does it instead (below), so its own messages
// about that would only mislead.
const quiet = new Set([
  'console-api-report-not-copied',
  'console-api-report-copied',
  'console-api-report-created',
  'console-api-report-folder-missing',
]);

/**
 * The report without what changes when the API does not: findings not tied to a declaration are listed with their
 * place in `dist/*.d.ts` (`// dist/index.d.ts:224:9 - (ae-forgotten-export) …`), and that line number moves with
 * every edited doc comment.
 * @param {string} text
 */
const normalise = (text) => text.replace(/^\/\/ dist\/[^\s:]+:\d+:\d+ - /gm, '// ');

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
    // Its own folder per run: several worktrees, or turbo's parallel lint tasks, may run this at once.
    const temp = mkdtempSync(join(tmpdir(), 'xpp-api-report-'));
    const name = reportName(manifest, subpath);
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
          reportFileName: name,
          // API Extractor writes its report to `temp` and compares it with one in `temp/approved`, which it never
          // finds; the comparison with `etc/` is below.
          reportFolder: join(temp, 'approved'),
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
      localBuild: false,
      showVerboseMessages: false,
      messageCallback: (message) => {
        // Whether a report differs or was written is said below, once, with the command that fixes it.
        if (quiet.has(message.messageId)) message.logLevel = ExtractorLogLevel.None;
      },
    });
    // A missing approved report counts as a warning: only errors (compiler, analysis) fail the run.
    if (result.errorCount > 0) {
      rmSync(temp, { recursive: true, force: true });
      failed++;
      console.error(`${label}: API Extractor failed (${result.errorCount} error(s))`);
      continue;
    }
    const built = normalise(readFileSync(join(temp, `${name}.api.md`), 'utf8'));
    const reportPath = join(dir, 'etc', `${name}.api.md`);
    const report = relative(root, reportPath);
    const committed = existsSync(reportPath) ? readFileSync(reportPath, 'utf8') : undefined;
    rmSync(temp, { recursive: true, force: true });
    if (built === committed) continue;
    if (update) {
      mkdirSync(join(dir, 'etc'), { recursive: true });
      writeFileSync(reportPath, built);
      console.log(`${label}: updated ${report}`);
    } else {
      failed++;
      console.error(
        `${label}: the public API differs from ${report}; review the change and run \`pnpm api:update\``,
      );
    }
  }
}
process.exit(failed === 0 ? 0 : 1);
