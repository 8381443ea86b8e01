// The record store bench (issue #18): 100,000 bindings written, the SQLite file reopened and loaded, RSS per
// binding of both stores, and the cost of the durability settings. Each measurement runs in a child process of its
// own (RSS is a process figure); rounds are repeated and their medians reported.
//
//   pnpm --filter @xpp/node-peer bench:store        (BENCH_BINDINGS=100000 BENCH_ROUNDS=3 by default)
//
// Prints one JSON object per round and a summary; appends nothing by itself (copy the summary into RESULTS.md).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir, loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import BetterSqlite3 from 'better-sqlite3';
import { bindingCodec, MemoryRecordStore, RecordKind, type RecordStore } from '@xpp/dht';
import { systemClock } from '@xpp/reliability';
import { MIGRATIONS, SqliteRecordStore } from '@xpp/node-peer';
import { ROW_DIGEST_SQL, rowDigest } from '../src/store/row-digest.js';

const BINDINGS = Number(process.env['BENCH_BINDINGS'] ?? 100_000);
const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 3);
/** Rows per commit in the durability-cost measurement: a busy peer's puts in one event-loop turn. */
const GROUP = 100;
const SELF = fileURLToPath(import.meta.url);

function bindingValue(i: number): Uint8Array {
  return bindingCodec.encode({
    instanceId: `urn:uuid:00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
    regId: 1,
    contact: `sip:user${i}@192.0.2.${i % 250}:5060;transport=udp`,
    flowPeer: new Uint8Array(16).fill(i % 256),
  });
}

function gc(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

function rssMb(): number {
  gc();
  return process.memoryUsage().rss / 2 ** 20;
}

const BOUNDS = { maxRecords: 2 * BINDINGS, maxOctets: 2 ** 31, clock: systemClock };

function fill(store: RecordStore): number {
  const values = Array.from({ length: BINDINGS }, (_, i) => bindingValue(i));
  const started = performance.now();
  for (let i = 0; i < BINDINGS; i++)
    store.put({
      key: `sip:user${i}@example.org`,
      kind: RecordKind.BINDING,
      value: values[i]!,
      lifetime: 3600,
    });
  return performance.now() - started;
}

/** One measurement, in this (child) process; prints its figures as JSON. */
function child(what: string, file: string): Record<string, number> {
  const before = rssMb();
  if (what === 'memory') {
    const store = new MemoryRecordStore(BOUNDS);
    const ms = fill(store);
    return { writeMs: ms, rssPerBindingB: ((rssMb() - before) * 2 ** 20) / store.stats.records };
  }
  if (what === 'sqlite-write') {
    const store = SqliteRecordStore.open({ ...BOUNDS, file });
    const ms = fill(store);
    store.close();
    return { writeMs: ms, fileMb: statSync(file).size / 2 ** 20 };
  }
  if (what === 'sqlite-load') {
    const store = SqliteRecordStore.open({ ...BOUNDS, file });
    const rss = ((rssMb() - before) * 2 ** 20) / store.stats.records;
    const result = { loadMs: store.loaded.ms, loaded: store.loaded.records, rssPerBindingB: rss };
    store.close();
    return result;
  }
  return durabilityCost(what, file);
}

/** µs per committed row of the store's table under one setting: what `synchronous` and grouping cost. */
function durabilityCost(what: string, file: string): Record<string, number> {
  const [, synchronous, grouping, locking = 'EXCLUSIVE'] = what.split(':') as [
    string,
    string,
    string,
    string?,
  ];
  const db = new BetterSqlite3(file);
  db.pragma(`locking_mode = ${locking}`);
  db.pragma('journal_mode = WAL');
  db.pragma(`synchronous = ${synchronous}`);
  // Migration v3 fills the digest of rows already there with this function (none here).
  db.function(ROW_DIGEST_SQL, { varargs: true }, () => null);
  for (const step of MIGRATIONS) step.up(db);
  const insert = db.prepare('INSERT OR REPLACE INTO records VALUES (?, ?, ?, ?, ?, 0, NULL, ?)');
  // An fsync a commit costs milliseconds: fewer rows give the same per-row figure in seconds, not minutes.
  const rows = Math.min(BINDINGS, synchronous === 'FULL' && grouping === 'each' ? 1_000 : 20_000);
  const values = Array.from({ length: rows }, (_, i) => bindingValue(i));
  const put = (i: number): void => {
    const [key, subkey, expires] = [`sip:user${i}@example.org`, `instance ${i} 1`, Date.now()];
    // The row's digest is part of what the store pays per write.
    const digest = rowDigest(RecordKind.BINDING, key, subkey, values[i]!, expires, null);
    insert.run(RecordKind.BINDING, key, subkey, values[i]!, expires, digest);
  };
  const group = grouping === 'group' ? GROUP : 1;
  const batch = db.transaction((from: number) => {
    for (let i = from; i < Math.min(rows, from + group); i++) put(i);
  });
  const started = performance.now();
  for (let i = 0; i < rows; i += group) batch(i);
  const us = ((performance.now() - started) * 1000) / rows;
  db.close();
  return { usPerRow: us };
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
}

function run(what: string, file: string): Record<string, number> {
  const result = spawnSync(process.execPath, ['--expose-gc', '--import', 'tsx', SELF, what, file], {
    encoding: 'utf8',
    env: { ...process.env, BENCH_BINDINGS: String(BINDINGS) },
    maxBuffer: 1 << 20,
  });
  if (result.status !== 0) throw new Error(`${what} failed: ${result.stderr}`);
  return JSON.parse(result.stdout.trim().split('\n').at(-1) as string) as Record<string, number>;
}

const MEASURES = [
  'memory',
  'sqlite-write',
  'sqlite-load',
  'cost:NORMAL:each',
  'cost:NORMAL:each:NORMAL',
  'cost:FULL:each',
  'cost:NORMAL:group',
  'cost:OFF:each',
] as const;

function parent(): void {
  const rounds: Record<string, Record<string, number>>[] = [];
  const load = loadavg()[0]?.toFixed(1);
  for (let r = 0; r < ROUNDS; r++) {
    const dir = mkdtempSync(join(tmpdir(), 'xpp-store-bench-'));
    const round: Record<string, Record<string, number>> = {};
    for (const what of MEASURES) {
      const file = join(dir, what.startsWith('cost') ? `${what.replaceAll(':', '-')}.db` : 'records.db');
      round[what] = run(what, file);
    }
    rmSync(dir, { recursive: true, force: true });
    console.log(JSON.stringify({ round: r + 1, ...round }));
    rounds.push(round);
  }
  const m = (what: string, field: string): number => median(rounds.map((r) => r[what]?.[field] ?? NaN));
  const summary = {
    bindings: BINDINGS,
    rounds: ROUNDS,
    loadAverageAtStart: Number(load),
    memoryWriteMs: Math.round(m('memory', 'writeMs')),
    sqliteWriteMs: Math.round(m('sqlite-write', 'writeMs')),
    sqliteFileMb: Number(m('sqlite-write', 'fileMb').toFixed(1)),
    sqliteLoadMs: Math.round(m('sqlite-load', 'loadMs')),
    loadUnder2s: m('sqlite-load', 'loadMs') < 2000,
    memoryRssPerBindingB: Math.round(m('memory', 'rssPerBindingB')),
    sqliteRssPerBindingB: Math.round(m('sqlite-load', 'rssPerBindingB')),
    usPerCommitNormal: Number(m('cost:NORMAL:each', 'usPerRow').toFixed(1)),
    usPerCommitNormalSharedLocking: Number(m('cost:NORMAL:each:NORMAL', 'usPerRow').toFixed(1)),
    usPerCommitFull: Number(m('cost:FULL:each', 'usPerRow').toFixed(1)),
    usPerCommitOff: Number(m('cost:OFF:each', 'usPerRow').toFixed(1)),
    usPerRowGroupOf100Normal: Number(m('cost:NORMAL:group', 'usPerRow').toFixed(1)),
  };
  console.log(JSON.stringify(summary, null, 2));
}

const [what, file] = process.argv.slice(2);
if (what === undefined) parent();
else console.log(JSON.stringify(child(what, file as string)));
