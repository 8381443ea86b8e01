// Kamailio as the reference registrar of the REGISTER bench (issue #19): the Debian `kamailio` and
// `kamailio-sqlite-modules` packages, configured as a plain digest registrar — `auth_db` on a `db_sqlite` subscriber
// table holding precomputed HA1s, `usrloc` in memory, `tm` for authenticated REGISTERs so that a retransmission gets
// the same answer (as ours does), two UDP workers (`children=2`, the machine's cores). Started as a child process in
// the foreground, its CPU summed over all its processes from /proc. Not part of CI: the bench only.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { freeUdpPort } from '@xpp/test-kit';
import { waitFor } from '@xpp/reliability/testing';
import { XppError } from '@xpp/wire';
import { RawSipClient } from '../test/support/raw-sip-client.js';
import { BENCH_DOMAIN, cpuSeconds, type BenchUser, type SippTarget } from './sipp.js';

/** The schema files `kamailio-sqlite-modules` ships (the `version` table, then `subscriber` at its version). */
const SCHEMA_DIR = process.env['KAMAILIO_SQLITE_SCHEMA'] ?? '/usr/share/kamailio/db_sqlite';

export type KamailioBenchErrorCode =
  /** `kamailio` or its SQLite schema is not installed. */
  | 'KAMAILIO_MISSING'
  /** Kamailio exited, or never answered on its port. */
  | 'KAMAILIO_EXITED'
  /** Kamailio did not answer digest REGISTERs as a registrar must (200 for the password, 401/403 otherwise). */
  | 'KAMAILIO_AUTH';

export class KamailioBenchError extends XppError<KamailioBenchErrorCode> {
  override readonly name = 'KamailioBenchError';
}

/** The installed Kamailio's version line (`kamailio 5.6.3 (x86_64/linux)`), or undefined when there is none. */
export function kamailioVersion(): string | undefined {
  const out = spawnSync('kamailio', ['-v'], { encoding: 'utf8' });
  return /kamailio \S+ \([^)]*\)/.exec(out.stdout ?? '')?.[0];
}

/** Two UDP workers: one per core of the bench machine, as the reference run had. */
const KAMAILIO_CHILDREN = 2;
/** Shared memory, MB (`kamailio -m`): room for the transactions in flight at the bench's highest rate. */
const KAMAILIO_SHM_MB = 512;

/** The configuration: REGISTER only; challenge stateless, then a transaction for the authenticated request. */
export function kamailioConfig(port: number, dbFile: string): string {
  return `#!KAMAILIO
debug=1
log_stderror=yes
children=${KAMAILIO_CHILDREN}
disable_tcp=yes
listen=udp:127.0.0.1:${port}
alias="${BENCH_DOMAIN}"

loadmodule "tm.so"
loadmodule "sl.so"
loadmodule "pv.so"
loadmodule "maxfwd.so"
loadmodule "usrloc.so"
loadmodule "registrar.so"
loadmodule "db_sqlite.so"
loadmodule "auth.so"
loadmodule "auth_db.so"

# Bindings in memory only, like a peer's --memory store.
modparam("usrloc", "db_mode", 0)
# db_sqlite reads the path after sqlite:// relative to Kamailio's working directory, / by default (no -w).
# The subscriber table's ha1 column holds MD5(user:realm:password): no password is stored or hashed per request.
modparam("auth_db", "db_url", "sqlite://${dbFile}")
modparam("auth_db", "calculate_ha1", 0)
modparam("auth_db", "password_column", "ha1")
modparam("auth_db", "use_domain", 1)
# sipp 3.6 takes the first challenge and knows MD5 only; the algorithm is named, as ours names it.
modparam("auth", "algorithm", "MD5")

request_route {
  if (!mf_process_maxfwd_header("10")) { sl_send_reply("483", "Too Many Hops"); exit; }
  if (method != "REGISTER") { sl_send_reply("405", "Method Not Allowed"); exit; }
  # Unauthenticated or wrong: a stateless 401 (a retransmission gets a fresh challenge, which is as good).
  if (!auth_check("$td", "subscriber", "1")) { auth_challenge("$td", "0"); exit; }
  # Authenticated: a transaction, so that a retransmission gets the very answer the first one got.
  if (!t_newtran()) { sl_reply_error(); exit; }
  if (!save("location")) t_reply("500", "Server Internal Error");
  exit;
}
`;
}

/** The subscriber database: Kamailio's own schema, one row per user with its precomputed HA1. */
export function writeSubscribers(dbFile: string, users: readonly BenchUser[]): void {
  const files = ['standard-create.sql', 'auth_db-create.sql'].map((f) => join(SCHEMA_DIR, f));
  const missing = files.find((f) => !existsSync(f));
  if (missing !== undefined)
    throw new KamailioBenchError(
      'KAMAILIO_MISSING',
      `${missing} not found: apt-get install -y kamailio kamailio-sqlite-modules`,
    );
  const db = new Database(dbFile);
  try {
    db.exec(files.map((f) => readFileSync(f, 'utf8')).join('\n'));
    const insert = db.prepare('INSERT INTO subscriber (username, domain, ha1) VALUES (?, ?, ?)');
    db.transaction(() => {
      for (const { user, password } of users)
        insert.run(
          user,
          BENCH_DOMAIN,
          createHash('md5').update(`${user}:${BENCH_DOMAIN}:${password}`).digest('hex'),
        );
    })();
  } finally {
    db.close();
  }
}

/** Every process whose ancestry leads to `root` (root included), from the parent pids in /proc. */
function processTree(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue; // gone between the listing and the read
    }
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
  }
  const tree = [root];
  for (let i = 0; i < tree.length; i++) tree.push(...(children.get(tree[i]!) ?? []));
  return tree;
}

export interface Kamailio extends SippTarget {
  readonly version: string;
  /** Its processes now (main, UDP workers, timers). */
  pids(): number[];
  stop(): Promise<void>;
}

/**
 * Kamailio in `dir` (its cfg and subscriber.db) on a free loopback UDP port for `users`, in the foreground
 * (`-DD -E`), once it answers; checked before it is returned: a user's digest REGISTER gets 200, a wrong password
 * 401 or 403.
 */
export async function startKamailio(dir: string, users: readonly BenchUser[]): Promise<Kamailio> {
  const version = kamailioVersion();
  if (version === undefined)
    throw new KamailioBenchError(
      'KAMAILIO_MISSING',
      'kamailio is not installed: apt-get install -y kamailio',
    );
  const dbFile = join(dir, 'subscriber.db');
  writeSubscribers(dbFile, users);
  const port = await freeUdpPort();
  const cfg = join(dir, 'kamailio.cfg');
  writeFileSync(cfg, kamailioConfig(port, dbFile));
  // 512 MB of shared memory (`-m`): with the default 64 MB, the transactions of 1,000 REGISTERs a second (each kept
  // for tm's wait timer) run it out, `t_newtran()` fails, and sipp's retransmissions stretch p99 to seconds.
  const child = spawn('kamailio', ['-m', String(KAMAILIO_SHM_MB), '-DD', '-E', '-f', cfg], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (c: Buffer) => (stderr = (stderr + c.toString()).slice(-4000)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const kamailio = handle(child, version, port, exited);
  try {
    await checkRegistrar(
      port,
      users,
      () => child.exitCode ?? child.signalCode,
      () => stderr,
    );
    return kamailio;
  } catch (error) {
    await kamailio.stop();
    throw error;
  }
}

function handle(child: ChildProcess, version: string, sip: number, exited: Promise<void>): Kamailio {
  const pid = child.pid!;
  const pids = () => (child.exitCode === null && child.signalCode === null ? processTree(pid) : []);
  return {
    version,
    sip,
    pids,
    // All its processes: the UDP workers do the work, the timers run tm's retransmission and usrloc's expiry.
    cpuSeconds: () =>
      pids().reduce((sum, p) => {
        try {
          return sum + cpuSeconds(p);
        } catch {
          return sum; // exited since the listing
        }
      }, 0),
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

async function checkRegistrar(
  port: number,
  users: readonly BenchUser[],
  exitStatus: () => number | string | null,
  stderr: () => string,
): Promise<void> {
  const target = { address: '127.0.0.1', port };
  const client = await RawSipClient.open();
  try {
    const user = users[0];
    if (user === undefined) throw new KamailioBenchError('KAMAILIO_AUTH', 'no bench users');
    const aor = `sip:${user.user}@${BENCH_DOMAIN}`;
    // The first answer is also the sign that it serves: its workers are up once a challenge comes back.
    await waitFor(
      async () => {
        if (exitStatus() !== null)
          throw new KamailioBenchError('KAMAILIO_EXITED', `kamailio exited (${exitStatus()}): ${stderr()}`);
        return (await client.register(target, aor, undefined, {}).catch(() => undefined))?.challenge;
      },
      { what: 'kamailio answering', timeoutMs: 20_000, intervalMs: 200 },
    );
    const right = await client.register(target, aor, user.password);
    const wrong = await client.register(target, aor, `not-${user.password}`);
    if (right.challenge.status !== 401 || right.final.status !== 200)
      throw new KamailioBenchError(
        'KAMAILIO_AUTH',
        `digest REGISTER of ${aor}: ${right.challenge.status} then ${right.final.status}, not 401 then 200`,
      );
    if (wrong.final.status !== 401 && wrong.final.status !== 403)
      throw new KamailioBenchError(
        'KAMAILIO_AUTH',
        `REGISTER of ${aor} with a wrong password got ${wrong.final.status}, not 401/403`,
      );
  } finally {
    client.close();
  }
}
