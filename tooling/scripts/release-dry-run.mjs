#!/usr/bin/env node
// What `pnpm release` would publish, without a registry login: changesets can compute the release plan, and
// every public package packs (workspace: ranges rewritten to versions, as `changeset publish` does).
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));
const run = (cmd, args, cwd = root) =>
  execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });

const publicPackages = [];
for (const group of ['packages', 'apps']) {
  for (const name of readdirSync(join(root, group))) {
    const manifestPath = join(root, group, name, 'package.json');
    if (!existsSync(manifestPath)) continue;
    const manifest = JSON.parse(readFileSync(manifestPath, 'utf8'));
    if (!manifest.private) publicPackages.push({ dir: join(root, group, name), manifest });
  }
}

const plan = join(mkdtempSync(join(tmpdir(), 'xpp-release-')), 'plan.json');
run('pnpm', ['exec', 'changeset', 'status', `--output=${plan}`]);
const releases = JSON.parse(readFileSync(plan, 'utf8')).releases.filter((r) => r.type !== 'none');
for (const r of releases)
  console.log(`release plan: ${r.name} ${r.oldVersion} → ${r.newVersion} (${r.type})`);

// `pnpm version-packages` on a scratch copy of the manifests: the plan applies and bumps what it said.
const scratch = mkdtempSync(join(tmpdir(), 'xpp-version-'));
for (const file of ['package.json', 'pnpm-workspace.yaml', '.changeset'])
  cpSync(join(root, file), join(scratch, file), { recursive: true });
for (const { dir } of publicPackages) {
  const relative = dir.slice(root.length);
  mkdirSync(join(scratch, relative), { recursive: true });
  cpSync(join(dir, 'package.json'), join(scratch, relative, 'package.json'));
}
run(process.execPath, [join(root, 'node_modules/@changesets/cli/bin.js'), 'version'], scratch);
for (const r of releases) {
  const pkg = publicPackages.find((p) => p.manifest.name === r.name);
  if (!pkg) continue;
  const bumped = JSON.parse(
    readFileSync(join(scratch, pkg.dir.slice(root.length), 'package.json'), 'utf8'),
  ).version;
  if (bumped !== r.newVersion)
    throw new Error(`${r.name}: version-packages gave ${bumped}, the plan said ${r.newVersion}`);
}
rmSync(scratch, { recursive: true, force: true });

const out = mkdtempSync(join(tmpdir(), 'xpp-pack-'));
for (const { dir, manifest } of publicPackages) {
  const tarball = run('pnpm', ['pack', '--pack-destination', out], dir).trim().split('\n').at(-1);
  const packed = JSON.parse(run('tar', ['-xzOf', tarball, 'package/package.json']));
  const deps = { ...packed.dependencies, ...packed.peerDependencies };
  const leftover = Object.entries(deps).filter(([, v]) => String(v).startsWith('workspace:'));
  if (leftover.length > 0)
    throw new Error(`${manifest.name}: unresolved workspace ranges ${JSON.stringify(leftover)}`);
  console.log(`packed: ${manifest.name}@${manifest.version} (${tarball.split('/').at(-1)})`);
}
rmSync(out, { recursive: true, force: true });
console.log(
  `release dry run: ${publicPackages.length} package(s) pack, ${releases.length} release(s) planned`,
);
