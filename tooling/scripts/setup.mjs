#!/usr/bin/env node
// Brings a fresh clone to a runnable state on a machine that has only Node.js: the pnpm version the
// repository pins, then exactly the locked dependencies. Idempotent, so every README command starts with it.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));
const manifest = JSON.parse(readFileSync(new URL('package.json', `file://${root}`), 'utf8'));
const pinned = String(manifest.packageManager).split('@')[1];

function installedPnpm() {
  try {
    return execFileSync('pnpm', ['--version'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
  } catch {
    return undefined;
  }
}

function run(cmd, args) {
  execFileSync(cmd, args, { cwd: root, stdio: 'inherit' });
}

if (installedPnpm() !== pinned) {
  console.log(`setup: installing pnpm ${pinned}`);
  run('npm', ['install', '--global', '--no-fund', '--no-audit', `pnpm@${pinned}`]);
}
run('pnpm', ['install', '--frozen-lockfile', '--prefer-offline', '--reporter=silent']);
