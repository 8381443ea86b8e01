// A torn or damaged records.db (issue #18 item 5), black-box against `xpp-node` processes: a peer holding users and
// a registration is killed -9; copies of its data directory are damaged as a disk or a stray write leaves them —
// truncated, a page overwritten, one octet of a record changed — and each refuses to start, naming the file. An
// undamaged copy starts and serves the same users: the damage, not the copying, is what is refused.
import {
  cpSync,
  mkdtempSync,
  openSync,
  readFileSync,
  statSync,
  truncateSync,
  writeFileSync,
  writeSync,
  closeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { RecordKind } from '@xpp/dht';
import { seededRandom } from '@xpp/reliability/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { DemoSipClient } from '../src/cli/demo/sip-client.js';
import { addUser } from '../src/cli/user-add.js';
import { NodeProcess } from './support/node-process.js';

const procs: NodeProcess[] = [];
const clients: DemoSipClient[] = [];
afterEach(() => {
  for (const c of clients.splice(0)) c.close();
  for (const p of procs.splice(0)) p.kill();
});

const start = (dataDir: string): NodeProcess => {
  const p = new NodeProcess([
    'start',
    '--data-dir',
    dataDir,
    '--sip-port',
    '0',
    '--xpp-port',
    '0',
    '--http-port',
    '0',
  ]);
  procs.push(p);
  return p;
};

async function register(aor: string, password: string, sip: number): Promise<number> {
  const client = await DemoSipClient.open({ aor, password, peer: { address: '127.0.0.1', port: sip } });
  clients.push(client);
  return client.register({ expires: 3600 });
}

/** Moves what the WAL holds into records.db (as SQLite's automatic checkpoint does on a busy peer). */
function checkpoint(file: string): void {
  const db = new BetterSqlite3(file);
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.close();
}

/** Starts `dataDir` and expects the process to refuse: non-zero exit, the file named on stderr. */
async function refused(dataDir: string): Promise<string> {
  const p = start(dataDir);
  const { code } = await p.exited;
  expect(code).not.toBe(0);
  const file = join(dataDir, 'records.db');
  expect(p.stderr).toContain(file);
  expect(p.stderr).toMatch(/damaged/);
  // Never served: it did not get as far as opening its SIP port.
  expect(p.logs().some((l) => l['msg'] === 'node started')).toBe(false);
  return p.stderr;
}

describe('a damaged record store (issue #18 item 5)', () => {
  it('truncated, a page overwritten, or one octet of a record changed: the peer refuses to start, naming the file', async () => {
    const base = mkdtempSync(join(tmpdir(), 'xpp-damage-'));
    const dir = join(base, 'a');
    const first = start(dir);
    const ports = await first.ports();
    await first.healthy(ports.http);
    const admin = { domain: 'localhost', dataDir: dir, httpPort: ports.http };
    for (const name of ['alice', 'bob', 'carol'])
      await addUser(admin, { aor: `sip:${name}@localhost`, password: `${name}-pw` });
    expect(await register('sip:bob@localhost', 'bob-pw', ports.sip)).toBe(200);
    first.child.kill('SIGKILL');
    await first.exited;

    const copy = (name: string): string => {
      const to = join(base, name);
      cpSync(dir, to, { recursive: true });
      checkpoint(join(to, 'records.db'));
      return to;
    };
    const sound = copy('sound');
    const file = (d: string): string => join(d, 'records.db');

    // Truncated to half (a copy cut short, a full disk).
    const truncated = copy('truncated');
    truncateSync(file(truncated), Math.floor(statSync(file(truncated)).size / 2));
    await refused(truncated);

    // A page in the middle overwritten with noise (a stray write); the seed makes it repeatable.
    const scribbled = copy('scribbled');
    const random = seededRandom(18);
    const noise = Buffer.from(Array.from({ length: 4096 }, () => Math.floor(random() * 256)));
    const pages = statSync(file(scribbled)).size / 4096;
    const fd = openSync(file(scribbled), 'r+');
    writeSync(fd, noise, 0, noise.length, Math.floor(pages / 2) * 4096);
    closeSync(fd);
    await refused(scribbled);

    // One octet inside bob's binding value: pages and b-tree stay sound, so only the row digest can tell.
    const flipped = copy('flipped');
    const db = new BetterSqlite3(file(flipped), { readonly: true });
    const row = db
      .prepare<[number], { value: Buffer }>('SELECT value FROM records WHERE kind = ?')
      .get(RecordKind.BINDING);
    db.close();
    const raw = readFileSync(file(flipped));
    const at = raw.indexOf(row!.value);
    expect(at).toBeGreaterThan(0);
    raw[at + Math.floor(row!.value.length / 2)]! ^= 0x01;
    writeFileSync(file(flipped), raw);
    expect(await refused(flipped)).toMatch(/record sip:bob@localhost \(kind 1\) does not match its digest/);

    // Control: the undamaged copy starts, resumes its overlay and serves the same users.
    const again = start(sound);
    const p = await again.ports();
    await again.healthy(p.http);
    expect(await register('sip:alice@localhost', 'alice-pw', p.sip)).toBe(200);
    expect(await register('sip:carol@localhost', 'carol-pw', p.sip)).toBe(200);
  }, 90_000);
});
