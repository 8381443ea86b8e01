import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { bindingCodec, RecordKind } from '@xpp/dht';
import { FakeClock } from '@xpp/reliability/testing';
import { SqliteRecordStore } from '@xpp/node-peer';

// The SQLite store commits the writes of one event-loop turn together (docs/decisions/node-peer-durable-store.md);
// `durable()` says when they are committed. The kill -9 proof is in sqlite-store.test.ts (store-writer.mjs).

const dirs: string[] = [];
function tempFile(): string {
  const dir = mkdtempSync(join(tmpdir(), 'xpp-group-'));
  dirs.push(dir);
  return join(dir, 'records.db');
}
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

const turn = () => new Promise((resolve) => setImmediate(resolve));
const open = (file: string) =>
  SqliteRecordStore.open({ file, clock: new FakeClock(0, Date.now()), maxRecords: 10_000 });

function put(store: SqliteRecordStore, i: number): void {
  store.put({
    key: `sip:u${i}@example.org`,
    kind: RecordKind.BINDING,
    value: bindingCodec.encode({
      instanceId: `urn:uuid:${i}`,
      regId: 1,
      contact: `sip:u${i}@192.0.2.1`,
      flowPeer: Uint8Array.of(1),
    }),
    lifetime: 3600,
  });
}

describe('SqliteRecordStore group commit', () => {
  it('has nothing to wait for until a change, then settles durable() at the end of the turn', async () => {
    const store = open(tempFile());
    expect(store.durable()).toBeUndefined();
    put(store, 1);
    put(store, 2);
    const committed = store.durable();
    expect(committed).toBeInstanceOf(Promise);
    expect(store.durable()).toBe(committed); // one group for the whole turn
    await committed;
    expect(store.durable()).toBeUndefined();
    store.close();
  });

  it('commits a turn’s writes as one transaction: far less WAL than one commit each', async () => {
    const grouped = tempFile();
    const single = tempFile();
    const a = open(grouped);
    for (let i = 0; i < 200; i++) put(a, i);
    await a.durable();
    const b = open(single);
    for (let i = 0; i < 200; i++) {
      put(b, i);
      await b.durable();
    }
    // Each commit appends at least the table's and the index's changed pages: 200 commits, hundreds of frames.
    expect(statSync(`${grouped}-wal`).size * 10).toBeLessThan(statSync(`${single}-wal`).size);
    a.close();
    b.close();
    for (const file of [grouped, single]) {
      const again = open(file);
      expect(again.loaded.records).toBe(200);
      again.close();
    }
  });

  it('a refused call in a group undoes nothing of the others; close() commits what is pending', () => {
    const file = tempFile();
    const store = open(file);
    put(store, 1);
    expect(() =>
      store.put({
        key: 'sip:x@example.org',
        kind: RecordKind.BINDING,
        value: Uint8Array.of(1),
        lifetime: 60,
      }),
    ).toThrow();
    put(store, 2);
    store.close(); // same turn: the group is committed by close
    const again = open(file);
    expect(again.loaded.records).toBe(2);
    expect(again.get('sip:u2@example.org', RecordKind.BINDING)).toHaveLength(1);
    again.close();
  });

  it('peer state written within a group commits the group at once', async () => {
    const file = tempFile();
    const store = open(file);
    put(store, 1);
    expect(store.durable()).toBeInstanceOf(Promise);
    store.peerState.write({ overlayId: 'ab'.repeat(16), zones: ['0'], neighbours: [] });
    expect(store.durable()).toBeUndefined();
    await turn(); // the scheduled commit finds nothing left to do
    store.close();
  });
});
