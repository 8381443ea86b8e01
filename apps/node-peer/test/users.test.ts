// Users outlive the node that added them (issue #18 item 4; docs/decisions/node-peer-users.md), over real UDP with
// in-process daemons and the CLI: list, passwd, backup → a new overlay → restore; the adder stopped for good.
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createCredential,
  encodeCredential,
  generateAdminKeyPair,
  signCredential,
  type PeerIdentity,
} from '@xpp/dht';
import { waitFor } from '@xpp/reliability/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { DemoSipClient } from '../src/cli/demo/sip-client.js';
import { certifyPeer } from '../src/cli/peer-commands.js';
import { runCli } from '../src/cli/program.js';
import { addUser } from '../src/cli/user-add.js';
import type { NodeConfig } from '../src/config.js';
import type { NodeHandle } from '../src/daemon.js';
import { loadAdminPrivateKey } from '../src/data-dir.js';
import { loadIdentity } from '../src/membership/files.js';
import { BACKUP_PASSPHRASE_ENV, writeBackup } from '../src/users/backup-file.js';
import { nodeConfig, startDaemon } from './support/daemon.js';

const handles: NodeHandle[] = [];
const clients: DemoSipClient[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await Promise.all(handles.splice(0).map((h) => h.close()));
});

const scratch = () => mkdtempSync(join(tmpdir(), 'xpp-users-'));
const PASSPHRASE = 'correct horse battery staple';
const config = nodeConfig;
const start = (c: NodeConfig): Promise<NodeHandle> => startDaemon(c, handles);

/** `xpp-node …args` in this process, with the administrator's data directory and the node's HTTP port. */
async function cli(
  args: readonly string[],
  adminDir: string,
  node: NodeHandle,
  env: NodeJS.ProcessEnv = {},
): Promise<{ code: number | undefined; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await runCli([...args, '--data-dir', adminDir, '--http-port', String(node.ports.http)], {
    env: { [BACKUP_PASSPHRASE_ENV]: PASSPHRASE, ...env },
    stdout: (t) => (stdout += t),
    stderr: (t) => (stderr += t),
    process: { on: () => process, exit: () => undefined as never },
  });
  return { code, stdout, stderr };
}

/** REGISTER of `aor` with `password` at `node`: the final status. */
async function register(node: NodeHandle, aor: string, password: string): Promise<number> {
  const client = await DemoSipClient.open({
    aor,
    password,
    peer: { address: '127.0.0.1', port: node.ports.sip },
  });
  clients.push(client);
  return client.register();
}

/** A founding peer A (the administrator's host) and a certified peer B it invited: an overlay of two. */
async function twoPeers(dir: string): Promise<{ a: NodeHandle; b: NodeHandle }> {
  const a = await start(config(join(dir, 'a')));
  const adminAt = { domain: 'localhost', dataDir: a.config.dataDir, httpPort: a.ports.http };
  await addUser(adminAt, { aor: 'sip:peer-b@localhost', password: 'pw-b' });
  const identity = loadIdentity(join(dir, 'b'), { create: true }) as PeerIdentity;
  certifyPeer(a.config, Buffer.from(identity.publicKey).toString('hex'), {
    out: join(dir, 'b', 'peer.cert'),
  });
  const b = await start(
    config(join(dir, 'b'), {
      joinVia: `127.0.0.1:${a.ports.sip}`,
      joinAor: 'sip:peer-b@localhost',
      joinPassword: 'pw-b',
      adminPublicKey: a.keys.adminPublicKeyHex,
    }),
  );
  await waitFor(() => (a.front.stats.clients > 0 ? true : undefined), {
    what: 'a registered candidate',
    timeoutMs: 20_000,
    intervalMs: 50,
  });
  await a.front.evaluateInvitePolicy();
  await b.ready;
  return { a, b };
}

const USERS = ['alice', 'bob', 'carol', 'dave', 'erin', 'frank'].map((n) => `sip:${n}@localhost`);

describe('users held by the overlay', () => {
  it('list, passwd, backup; the adder stops for good; restore into a new overlay; users register again', async () => {
    const dir = scratch();
    const { a, b } = await twoPeers(dir);
    const adminDir = a.config.dataDir;
    for (const aor of USERS)
      await addUser(
        { domain: 'localhost', dataDir: adminDir, httpPort: a.ports.http },
        { aor, password: `${aor}-pw` },
      );
    // Both peers own users: the walk must reach both.
    expect(a.node.zones.length + b.node.zones.length).toBe(2);

    // list, through B (not the node they were added through): AOR, serial, username — never a secret.
    const listed = await cli(['user', 'list'], adminDir, b);
    expect(listed.code).toBe(0);
    for (const aor of [...USERS, 'sip:peer-b@localhost']) expect(listed.stdout).toContain(`${aor}\tserial `);
    expect(listed.stdout).toMatch(/^7 users \(0 removed\) from 2 peers$/m);
    expect(listed.stdout).not.toMatch(/[0-9a-f]{64}/);

    // passwd: a new credential with a higher serial; the old password gets 401, the new one 200.
    const alice = USERS[0]!;
    expect(await register(b, alice, `${alice}-pw`)).toBe(200);
    const changed = await cli(['user', 'passwd', alice, '--password', 'new-alice-pw'], adminDir, b);
    expect(changed.code).toBe(0);
    expect(changed.stdout).toMatch(/changed sip:alice@localhost \(serial (\d+) → (\d+)\)/);
    expect(await register(a, alice, `${alice}-pw`)).toBe(401);
    expect(await register(a, alice, 'new-alice-pw')).toBe(200);
    const unknown = await cli(['user', 'passwd', 'sip:nobody@localhost', '--password', 'x'], adminDir, b);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/404.*no credential/);
    // A removed user is listed with --removed only.
    expect((await cli(['user', 'remove', USERS[5]!], adminDir, a)).code).toBe(0);

    // backup: encrypted, mode 0600; no passphrase, no backup.
    const file = join(dir, 'users.bak');
    const saved = await cli(['backup', file], adminDir, b);
    expect(saved.code).toBe(0);
    expect(saved.stdout).toContain('6 users, 1 removed');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readFileSync(file).includes(Buffer.from('alice'))).toBe(false);
    expect(
      (await cli(['backup', join(dir, 'x.bak')], adminDir, b, { [BACKUP_PASSPHRASE_ENV]: '' })).code,
    ).toBe(2);

    // The node the users were added through stops for good: B holds them all, they register there.
    await a.leave();
    expect(await register(b, alice, 'new-alice-pw')).toBe(200);
    expect(await register(b, USERS[1]!, `${USERS[1]!}-pw`)).toBe(200);
    expect(await register(b, USERS[5]!, `${USERS[5]!}-pw`)).toBe(401);
    await b.close();

    // A new overlay (same administrator key, nothing else): no users until the restore.
    const cDir = join(dir, 'c');
    mkdirSync(cDir);
    for (const f of ['admin.key', 'admin.pub']) copyFileSync(join(adminDir, f), join(cDir, f));
    const c = await start(config(cDir));
    expect(await register(c, USERS[1]!, `${USERS[1]!}-pw`)).toBe(401);

    // A tampered backup, or the wrong passphrase: refused before anything is sent.
    const tampered = join(dir, 'tampered.bak');
    const octets = readFileSync(file);
    octets[octets.length - 20]! ^= 1;
    writeFileSync(tampered, octets);
    const refused = await cli(['restore', tampered], adminDir, c);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/does not decrypt/);
    const wrong = await cli(['restore', file], adminDir, c, {
      [BACKUP_PASSPHRASE_ENV]: 'another passphrase',
    });
    expect(wrong.stderr).toMatch(/does not decrypt/);

    const restored = await cli(['restore', file], adminDir, c);
    expect(restored.stdout).toContain('restored 7, newer in the overlay 0, refused 0');
    expect(restored.code).toBe(0);
    expect(await register(c, alice, 'new-alice-pw')).toBe(200);
    expect(await register(c, alice, `${alice}-pw`)).toBe(401);
    expect(await register(c, USERS[1]!, `${USERS[1]!}-pw`)).toBe(200);
    expect(await register(c, USERS[5]!, `${USERS[5]!}-pw`)).toBe(401);
    const again = await cli(['user', 'list', '--removed'], adminDir, c);
    expect(again.stderr).toBe('');
    expect(again.stdout).toMatch(/^sip:frank@localhost\tserial \d+\tremoved$/m);
    expect(again.stdout).toMatch(/^6 users \(1 removed\) from 1 peers$/m);
    // The backup is older than a later passwd: restoring it again never brings the old password back (409 from the
    // owner: it keeps the highest serial); the identical records are taken again as they are.
    expect((await cli(['user', 'passwd', alice, '--password', 'third-alice-pw'], adminDir, c)).code).toBe(0);
    const twice = await cli(['restore', file], adminDir, c);
    expect(twice.stdout).toContain('restored 6, newer in the overlay 1, refused 0');
    expect(await register(c, alice, 'new-alice-pw')).toBe(401);
    expect(await register(c, alice, 'third-alice-pw')).toBe(200);
  }, 180_000);

  it("an older release's credentials.json is stored once at the next start, then renamed", async () => {
    const dir = join(scratch(), 'a');
    const first = await start(config(dir));
    const admin = loadAdminPrivateKey(dir);
    const value = (aor: string, serial: number, key = admin) =>
      Buffer.from(
        encodeCredential(
          signCredential(createCredential({ aor, realm: 'localhost', password: 'pw', serial }), key),
        ),
      ).toString('hex');
    await first.close();
    handles.splice(0);
    const forged = value('sip:mallory@localhost', 1, generateAdminKeyPair().privateKey);
    writeFileSync(join(dir, 'credentials.json'), JSON.stringify([value('sip:olga@localhost', 3), forged]));
    const again = await start(config(dir));
    await waitFor(() => (existsSync(join(dir, 'credentials.json.imported')) ? true : undefined), {
      what: 'the legacy file imported',
      timeoutMs: 20_000,
      intervalMs: 50,
    });
    expect(existsSync(join(dir, 'credentials.json'))).toBe(false);
    expect(await register(again, 'sip:olga@localhost', 'pw')).toBe(200);
    expect(await register(again, 'sip:mallory@localhost', 'pw')).toBe(401);
  }, 60_000);

  it('a backup record not signed by an administrator key is refused by the peers', async () => {
    const dir = scratch();
    const a = await start(config(join(dir, 'a')));
    const forged = signCredential(
      createCredential({ aor: 'sip:mallory@localhost', realm: 'localhost', password: 'x', serial: 5 }),
      generateAdminKeyPair().privateKey,
    );
    const file = join(dir, 'forged.bak');
    // Encrypted with the right passphrase: only the signature check stands between it and the overlay.
    writeBackup(
      file,
      {
        version: 1,
        domain: 'localhost',
        created: Date.now(),
        records: [Buffer.from(encodeCredential(forged)).toString('hex')],
      },
      PASSPHRASE,
    );
    const result = await cli(['restore', file], a.config.dataDir, a);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/refused sip:mallory@localhost \(403\)/);
    expect(await register(a, 'sip:mallory@localhost', 'x')).toBe(401);
  }, 60_000);
});
