import { createSocket } from 'node:dgram';
import { existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '@xpp/reliability/testing';
import { NodeProcess, runXppNode } from './support/node-process.js';

const running: NodeProcess[] = [];
afterEach(() => {
  for (const p of running.splice(0)) p.kill();
});

const scratch = () => mkdtempSync(join(tmpdir(), 'xpp-cli-'));
const anyPorts = ['--sip-port', '0', '--xpp-port', '0', '--http-port', '0'];

describe('xpp-node CLI', () => {
  it('refuses a bad configuration with every problem, where it came from, and exit status 2', async () => {
    const dir = scratch();
    const file = join(dir, 'node.json');
    writeFileSync(file, JSON.stringify({ domain: 'bad domain!', sipPort: 5060 }));
    const result = await runXppNode(
      ['start', '--config', file, '--http-port', '70000', '--log-level', 'loud'],
      {
        XPP_NODE_XPP_PORT: 'many',
      },
    );
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/invalid configuration/);
    expect(result.stderr).toMatch(/domain: .*\(from config file .*node\.json\)/);
    expect(result.stderr).toMatch(/xppPort: .*\(from environment\)/);
    expect(result.stderr).toMatch(/httpPort: .*\(from command line\)/);
    expect(result.stderr).toMatch(/logLevel: .*\(from command line\)/);
    const missing = await runXppNode(['start', '--config', join(dir, 'nope.json')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/cannot read config file/);
    const unknown = await runXppNode(['start', '--sip-prot', '1']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/unknown option '--sip-prot'/);
  });

  it('says which address is taken when a port is in use, without a stack trace', async () => {
    const taken = createSocket('udp4');
    await new Promise<void>((resolve) => taken.bind(0, '127.0.0.1', resolve));
    try {
      const port = String(taken.address().port);
      const dir = join(scratch(), 'data');
      const result = await runXppNode(['start', '--data-dir', dir, ...anyPorts, '--sip-port', port]);
      expect(result.code).toBe(1);
      expect(result.stderr).toContain(`cannot bind 127.0.0.1:${port}`);
      expect(result.stderr).not.toMatch(/^\s+at /m);
    } finally {
      taken.close();
    }
  });

  it('keygen writes the administrator key pair and an identity key, and refuses to overwrite them without --force', async () => {
    const dir = join(scratch(), 'data');
    const first = await runXppNode(['keygen', '--data-dir', dir]);
    expect(first.code).toBe(0);
    const publicKey = readFileSync(join(dir, 'admin.pub'), 'utf8').trim();
    expect(publicKey).toMatch(/^[0-9a-f]{64}$/);
    expect(first.stdout).toContain(`administrator public key ${publicKey}`);
    expect(first.stdout).toMatch(/^peer id [0-9a-f]{32}$/m);
    expect(readFileSync(join(dir, 'identity.key'), 'utf8')).toContain('BEGIN PRIVATE KEY');
    expect(statSync(join(dir, 'identity.key')).mode & 0o077).toBe(0);
    expect(readFileSync(join(dir, 'admin.key'), 'utf8')).toContain('BEGIN PRIVATE KEY');
    expect(statSync(join(dir, 'admin.key')).mode & 0o077).toBe(0);

    const again = await runXppNode(['keygen', '--data-dir', dir]);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/refusing to overwrite .*admin\.key.*--force/);
    expect(readFileSync(join(dir, 'admin.pub'), 'utf8').trim()).toBe(publicKey);

    const forced = await runXppNode(['keygen', '--data-dir', dir, '--force']);
    expect(forced.code).toBe(0);
    expect(readFileSync(join(dir, 'admin.pub'), 'utf8').trim()).not.toBe(publicKey);
  });

  it('a joining node without the administrator public key is refused before it opens a socket', async () => {
    const dir = join(scratch(), 'data');
    const result = await runXppNode(['join', '--via', '127.0.0.1:5060', '--data-dir', dir, ...anyPorts]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/needs the overlay's administrator public key/);
    expect(existsSync(join(dir, 'admin.key'))).toBe(false);
  });

  it('start → /healthz → user add → status → SIGTERM exits 0', async () => {
    const dir = join(scratch(), 'data');
    const node = new NodeProcess(['start', '--data-dir', dir, ...anyPorts], {
      XPP_NODE_DOMAIN: 'example.test',
    });
    running.push(node);
    const ports = await node.ports();
    const base = `http://127.0.0.1:${ports.http}`;
    await waitFor(async () => ((await fetch(`${base}/healthz`)).status === 200 ? true : undefined), {
      what: 'healthz 200',
      timeoutMs: 20_000,
      intervalMs: 50,
    });
    // First start of a new overlay created the keys (README: "Data directory").
    expect(existsSync(join(dir, 'admin.key'))).toBe(true);

    const added = await runXppNode([
      'user',
      'add',
      'sip:alice@example.test',
      '--password',
      'secret',
      '--data-dir',
      dir,
      '--http-port',
      String(ports.http),
      '--domain',
      'example.test',
    ]);
    expect(added.stderr).toBe('');
    expect(added.stdout).toMatch(
      /^added sip:alice@example\.test \(username alice, realm example\.test, serial \d+\)/,
    );
    expect(added.code).toBe(0);

    const status = await runXppNode(['status', '--via', base]);
    expect(status.code).toBe(0);
    expect(status.stdout).toMatch(/\(peer\) for example\.test/);
    expect(status.stdout).toContain('zones: (whole space) (100.00% of the space)');
    expect(status.stdout).toMatch(/records: [1-9]/);
    const json = await runXppNode(['status', '--via', base, '--json']);
    expect(JSON.parse(json.stdout)).toMatchObject({ state: 'peer', domain: 'example.test', zones: [''] });

    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toMatch(/xpp_store_records [1-9]/);
    expect(metrics).toContain('xpp_overlay_peer 1');

    node.child.kill('SIGTERM');
    expect(await node.exited).toEqual({ code: 0, signal: null });
    expect(node.logs().map((l) => l['msg'])).toContain('stopped');
  });

  it('status and user add say so when no node runs', async () => {
    const dir = join(scratch(), 'data');
    await runXppNode(['keygen', '--data-dir', dir]);
    const status = await runXppNode(['status', '--http-port', '1']);
    expect(status.code).toBe(1);
    expect(status.stderr).toMatch(/no node answers at http:\/\/127\.0\.0\.1:1/);
    const addBob = (dataDir: string, ...more: string[]) =>
      runXppNode(['user', 'add', 'sip:bob@localhost', '--password', 'x', '--data-dir', dataDir, ...more]);
    const add = await addBob(dir, '--http-port', '1');
    expect(add.code).toBe(1);
    expect(add.stderr).toMatch(/no node answers/);
    const noKey = await addBob(join(dir, 'none'));
    expect(noKey.code).toBe(1);
    expect(noKey.stderr).toMatch(/no administrator private key/);
  });
});
