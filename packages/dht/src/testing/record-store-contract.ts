import assert from 'node:assert/strict';
import { FakeClock, seededRandom } from '@xpp/reliability/testing';
import {
  createCredential,
  createCredentialVerifier,
  encodeCredential,
  signCredential,
} from '../credential.js';
import { generateAdminKeyPair } from '../admin-keys.js';
import { DhtError } from '../errors.js';
import { LASTING_LIFETIME } from '../credential-book.js';
import { RecordKind } from '../kinds.js';
import { RECORD_OVERHEAD, type RecordStoreOptions } from '../store-limits.js';
import type { RecordStore, StoreChange, StoreStats } from '../store.js';
import { bindingCodec, peerRecordCodec, type Binding } from '../values.js';

/**
 * The test functions the contract registers its cases with: vitest's (or node:test's) `describe` and `it`. The
 * cases assert with `node:assert`, so this module needs no test runner of its own.
 */
export interface ContractTestApi {
  describe(name: string, body: () => void): void;
  it(name: string, body: () => void | Promise<void>): void;
}

/**
 * Makes a fresh, empty store for one case. `options.clock` is a {@link FakeClock} the case moves; a store that
 * keeps wall-clock expiries reads `wallNow()` from it too.
 */
export type RecordStoreFactory = (options: RecordStoreOptions & { clock: FakeClock }) => RecordStore;

const AOR = 'sip:alice@example.org';

/**
 * What every {@link RecordStore} must do, whatever keeps its records (docs/decisions/dht-record-store-seam.md):
 * one suite run against the in-memory store here and against the durable one in `apps/node-peer`, so that the
 * node cannot tell them apart.
 */
export function recordStoreContract(name: string, make: RecordStoreFactory, api: ContractTestApi): void {
  const { describe, it } = api;
  const admin = generateAdminKeyPair();
  const verifyCredential = createCredentialVerifier(admin.publicKey);
  const fresh = (bounds: Omit<RecordStoreOptions, 'clock'> = {}, clock = new FakeClock()): RecordStore =>
    make({ ...bounds, clock });

  const credential = (serial: number, aor = AOR): Uint8Array =>
    encodeCredential(
      signCredential(
        createCredential({ aor, realm: 'example.org', password: 'pw', serial }),
        admin.privateKey,
      ),
    );

  describe(`${name}: the RecordStore contract`, () => {
    it('keeps one binding per instance id / reg-id, each with its own expiry', () => {
      const clock = new FakeClock();
      const store = fresh({}, clock);
      store.put({ key: AOR, kind: RecordKind.BINDING, value: binding('a'), lifetime: 60 });
      store.put({ key: AOR, kind: RecordKind.BINDING, value: binding('b'), lifetime: 120 });
      store.put({
        key: AOR,
        kind: RecordKind.BINDING,
        value: binding('a', 1, 'sip:alice@198.51.100.1'),
        lifetime: 120,
      });
      const contacts = store.get(AOR, RecordKind.BINDING).map((r) => bindingCodec.decode(r.value).contact);
      assert.deepEqual(contacts.sort(), ['sip:alice@192.0.2.1;ob=b', 'sip:alice@198.51.100.1']);
      store.put({ key: AOR, kind: RecordKind.BINDING, value: binding('c'), lifetime: 30 });
      clock.advance(30_000);
      assert.equal(store.get(AOR, RecordKind.BINDING).length, 2);
      clock.advance(90_000);
      assert.equal(store.get(AOR, RecordKind.BINDING).length, 0);
      statsMatch(store.stats, { records: 0, octets: 0, expired: 3 });
    });

    it('expires a replaced record at its new expiry, earlier or later than the old one', () => {
      const clock = new FakeClock();
      const store = fresh({}, clock);
      const peer = (key: string, lifetime: number): void => {
        store.put({ key, kind: RecordKind.PEER, value: PEER_VALUE, lifetime });
      };
      peer('short', 100);
      peer('short', 10);
      peer('long', 10);
      peer('long', 100);
      for (let i = 0; i < 1000; i++) peer('churn', 50);
      clock.advance(10_000);
      assert.equal(store.sweep(), 1);
      assert.deepEqual(store.get('short', RecordKind.PEER), []);
      assert.equal(store.get('long', RecordKind.PEER).length, 1);
      clock.advance(40_000);
      assert.equal(store.sweep(), 1);
      clock.advance(50_000);
      assert.equal(store.sweep(), 1);
      statsMatch(store.stats, { records: 0, octets: 0, expired: 3 });
    });

    it("keeps its own copy of a value, not a view into the caller's message", () => {
      const store = fresh();
      const message = new Uint8Array(1000);
      message.set(PEER_VALUE, 10);
      const value = message.subarray(10, 10 + PEER_VALUE.length);
      const { record } = store.put({ key: 'k', kind: RecordKind.PEER, value, lifetime: 1 });
      assert.notEqual(record.value.buffer, message.buffer);
      message.fill(0);
      assert.deepEqual(store.get('k', RecordKind.PEER)[0]?.value, PEER_VALUE);
    });

    it('removes one binding or all of an AOR', () => {
      const store = fresh();
      store.put({ key: AOR, kind: RecordKind.BINDING, value: binding('a'), lifetime: 60 });
      store.put({ key: AOR, kind: RecordKind.BINDING, value: binding('b'), lifetime: 60 });
      const b = { instanceId: 'b', regId: 1, contact: 'ignored' };
      assert.equal(store.remove(AOR, RecordKind.BINDING, b), 1);
      assert.equal(store.remove(AOR, RecordKind.BINDING, b), 0);
      assert.equal(store.get(AOR, RecordKind.BINDING).length, 1);
      assert.equal(store.remove(AOR, RecordKind.BINDING), 1);
      assert.equal(store.stats.records, 0);
    });

    it('refuses unknown kinds, bad keys, bad lifetimes, bad values with 400 and oversized values with 413', () => {
      const store = fresh({ maxValueSize: 100, maxKeySize: 8 });
      const put = (key: string, kind: number, value: Uint8Array, lifetime: number): Refusal =>
        refusal(() => store.put({ key, kind, value, lifetime }));
      assert.deepEqual(put('k', 7, PEER_VALUE, 1), { code: 'UNKNOWN_KIND', status: 400 });
      assert.deepEqual(
        refusal(() => store.get('k', 0)),
        { code: 'UNKNOWN_KIND', status: 400 },
      );
      assert.equal(codeOf(put('', RecordKind.PEER, PEER_VALUE, 1)), 'INVALID_KEY');
      assert.equal(codeOf(put('123456789', RecordKind.PEER, PEER_VALUE, 1)), 'INVALID_KEY');
      assert.equal(codeOf(put('k', RecordKind.PEER, PEER_VALUE, 0)), 'INVALID_LIFETIME');
      assert.equal(codeOf(put('k', RecordKind.PEER, PEER_VALUE, 1.5)), 'INVALID_LIFETIME');
      assert.deepEqual(put('k', RecordKind.BINDING, Uint8Array.of(1), 1), {
        code: 'INVALID_VALUE',
        status: 400,
      });
      assert.equal(codeOf(put('k', RecordKind.PEER, Uint8Array.of(1), 1)), 'INVALID_VALUE');
      assert.deepEqual(put('k', RecordKind.PEER, new Uint8Array(101), 1), {
        code: 'VALUE_TOO_LARGE',
        status: 413,
      });
      statsMatch(store.stats, { records: 0, refusedInvalid: 8, refusedFull: 0 });
    });

    it('caps lifetimes at maxLifetime (default one day) and reports the granted lifetime', () => {
      const clock = new FakeClock();
      const store = fresh({}, clock);
      const result = store.put({ key: 'k', kind: RecordKind.PEER, value: PEER_VALUE, lifetime: 10 * 86_400 });
      assert.equal(result.lifetime, 86_400);
      assert.equal(result.record.expiresAt, clock.now() + 86_400_000);
    });

    it('answers 503 when the record or octet bound is reached, and frees expired records first', () => {
      const clock = new FakeClock();
      const store = fresh({ maxRecords: 2 }, clock);
      const put = (key: string, lifetime: number): Refusal =>
        refusal(() => store.put({ key, kind: RecordKind.PEER, value: PEER_VALUE, lifetime }));
      put('a', 10);
      put('b', 100);
      assert.deepEqual(put('c', 1), { code: 'STORE_FULL', status: 503 });
      // Replacing an existing record needs no room.
      assert.equal(put('b', 50), 'accepted');
      clock.advance(10_000);
      assert.equal(put('c', 1), 'accepted');
      statsMatch(store.stats, { records: 2, refusedFull: 1, expired: 1 });

      const small = fresh({ maxOctets: 400 }, clock);
      let stored = 0;
      for (let i = 0; i < 100; i++) {
        const r = refusal(() =>
          small.put({ key: `k${i}`, kind: RecordKind.PEER, value: PEER_VALUE, lifetime: 10 }),
        );
        if (r === 'accepted') stored++;
      }
      assert.equal(stored, 2);
      assert.ok(small.stats.octets <= 400);
    });

    it('bounds the bindings of one AOR', () => {
      const store = fresh({ maxBindingsPerAor: 2 });
      const put = (instance: string): Refusal =>
        refusal(() =>
          store.put({ key: AOR, kind: RecordKind.BINDING, value: binding(instance), lifetime: 60 }),
        );
      put('a');
      put('b');
      assert.deepEqual(put('c'), { code: 'TOO_MANY_BINDINGS', status: 503 });
      assert.equal(put('a'), 'accepted');
    });

    it('accepts only credentials signed by the administrator, under their own AOR, never older ones', () => {
      const clock = new FakeClock();
      const put = (store: RecordStore, value: Uint8Array, key = AOR): Refusal =>
        refusal(() => store.put({ key, kind: RecordKind.CREDENTIAL, value, lifetime: 60 }));
      assert.deepEqual(put(fresh({}, clock), credential(1)), { code: 'CREDENTIAL_REFUSED', status: 403 });
      const store = fresh({ verifyCredential }, clock);
      assert.equal(put(store, credential(2)), 'accepted');
      const forged = credential(3);
      forged[forged.length - 1]! ^= 1;
      assert.deepEqual(put(store, forged), { code: 'BAD_SIGNATURE', status: 403 });
      assert.equal(codeOf(put(store, credential(3), 'sip:bob@example.org')), 'CREDENTIAL_REFUSED');
      assert.deepEqual(put(store, credential(1)), { code: 'STALE_SERIAL', status: 409 });
      assert.equal(put(store, credential(3)), 'accepted');
      assert.equal(store.get(AOR, RecordKind.CREDENTIAL).length, 1);
    });

    it('keeps a credential without lifetime, handed over as lasting', () => {
      const clock = new FakeClock();
      const store = fresh({ verifyCredential }, clock);
      store.put({ key: AOR, kind: RecordKind.CREDENTIAL, value: credential(7), lifetime: 1 });
      clock.advance(2 * 86_400_000);
      store.sweep();
      const [kept] = store.get(AOR, RecordKind.CREDENTIAL);
      assert.ok(kept !== undefined);
      assert.equal(store.toWire(kept).lifetime, LASTING_LIFETIME);
    });

    it('selects and extracts by predicate, hands records over with remaining lifetimes, and tracks roles', () => {
      const clock = new FakeClock();
      const from = fresh({}, clock);
      const to = fresh({}, clock);
      const changes: StoreChange[] = [];
      from.onChange((c) => changes.push(c));
      for (let i = 0; i < 20; i++)
        from.put({ key: `k${i}`, kind: RecordKind.PEER, value: PEER_VALUE, lifetime: 100 });
      clock.advance(40_500);
      // The "upper half": records whose key digest starts with a set bit, as a zone predicate would decide.
      const upper = (r: { keyDigest: Uint8Array }): boolean => ((r.keyDigest[0] ?? 0) & 0x80) !== 0;
      const selected = from.select(upper);
      assert.ok(selected.length > 0);
      const moved = from.extract(upper);
      assert.deepEqual(moved, selected);
      assert.deepEqual(from.select(upper), []);
      const extracted = changes.filter((c) => c.type === 'remove' && c.reason === 'extracted');
      assert.equal(extracted.length, moved.length);
      const wire = moved.map((r) => from.toWire(r));
      assert.ok(wire.every((r) => r.lifetime === 60));
      assert.deepEqual(to.insert(wire, 'replica'), { stored: moved.length, refused: [] });
      assert.equal(to.stats.replicas, moved.length);
      assert.equal(
        to.setRole(() => true, 'primary'),
        moved.length,
      );
      statsMatch(to.stats, { replicas: 0, primaries: moved.length });
      clock.advance(60_000);
      assert.equal(to.sweep(), moved.length);
    });

    it('tells its listeners every change, after it is made', () => {
      const clock = new FakeClock();
      const store = fresh({}, clock);
      const seen: string[] = [];
      const stop = store.onChange((c) => {
        seen.push(c.type === 'remove' ? `remove:${c.reason}` : c.type);
        // After the change: the store already answers with it.
        if (c.type === 'put') assert.equal(store.get(c.record.key, c.record.kind).length, 1);
      });
      store.put({ key: 'k', kind: RecordKind.PEER, value: PEER_VALUE, lifetime: 5 });
      store.setRole(() => true, 'replica');
      store.remove('k', RecordKind.PEER);
      store.put({ key: 'k', kind: RecordKind.PEER, value: PEER_VALUE, lifetime: 5 });
      clock.advance(5_000);
      store.sweep();
      stop();
      store.put({ key: 'k', kind: RecordKind.PEER, value: PEER_VALUE, lifetime: 5 });
      assert.deepEqual(seen, ['put', 'role', 'remove:removed', 'put', 'remove:expired']);
    });

    it('reports refusals of a handoff record by record without losing the others', () => {
      const store = fresh();
      const result = store.insert(
        [
          { kind: RecordKind.PEER, key: 'ok', value: PEER_VALUE, lifetime: 5 },
          { kind: RecordKind.BINDING, key: AOR, value: Uint8Array.of(0), lifetime: 5 },
          { kind: RecordKind.CREDENTIAL, key: AOR, value: credential(1), lifetime: 5 },
          { kind: RecordKind.PEER, key: 'gone', value: PEER_VALUE, lifetime: 0 },
        ],
        'primary',
      );
      assert.equal(result.stored, 1);
      assert.deepEqual(
        result.refused.map((r) => r.error.code),
        ['INVALID_VALUE', 'CREDENTIAL_REFUSED'],
      );
    });

    it('refuses nonsense bounds', () => {
      assert.equal(codeOf(refusal(() => fresh({ maxRecords: 0 }))), 'INVALID_ARGUMENT');
    });

    it('keeps its counters equal to what it holds through a long random sequence of operations', () => {
      const clock = new FakeClock();
      const store = fresh({ maxRecords: 8, maxOctets: 1500, maxBindingsPerAor: 2 }, clock);
      const random = seededRandom(0x5eed);
      const pick = (n: number): number => Math.floor(random() * n);
      for (let step = 0; step < 400; step++) {
        const op = pick(5);
        if (op === 0) {
          const kind = pick(2) === 0 ? RecordKind.BINDING : RecordKind.PEER;
          const value =
            kind === RecordKind.BINDING
              ? binding('abc'[pick(3)] as string)
              : peerRecordCodec.encode({
                  peerId: Uint8Array.of(1),
                  contact: { uri: 'u'.repeat(1 + pick(400)), candidates: [] },
                });
          const role = pick(2) === 0 ? 'replica' : 'primary';
          const r = refusal(() =>
            store.put({ key: `k${pick(6)}`, kind, value, lifetime: 1 + pick(100), role }),
          );
          if (r !== 'accepted') assert.ok(['STORE_FULL', 'TOO_MANY_BINDINGS'].includes(r.code), r.code);
        } else if (op === 1) store.remove(`k${pick(6)}`, RecordKind.BINDING);
        else if (op === 2) clock.advance(pick(50_000));
        else if (op === 3) {
          const bit = pick(8);
          store.extract((r) => ((r.keyDigest[0] ?? 0) >> bit) % 2 === 1);
        } else store.setRole((r) => r.role === 'replica', 'primary');
        store.sweep();
        const live = store.select(() => true);
        const stats = store.stats;
        assert.equal(stats.records, live.length);
        assert.equal(stats.replicas, live.filter((r) => r.role === 'replica').length);
        assert.ok(stats.records <= 8 && stats.octets <= 1500);
        const octets = live.reduce(
          (n, r) => n + Buffer.byteLength(r.key) + r.subkey.length + r.value.length + RECORD_OVERHEAD,
          0,
        );
        assert.equal(stats.octets, octets);
      }
    });
  });
}

type Refusal = { code: string; status: number } | 'accepted';

function refusal(run: () => unknown): Refusal {
  try {
    run();
    return 'accepted';
  } catch (error) {
    if (DhtError.is(error)) return { code: error.code, status: error.status };
    throw error;
  }
}

/** The named counters of `stats` equal `expected` (node:assert's partialDeepStrictEqual is newer than Node 20). */
function statsMatch(stats: StoreStats, expected: Partial<StoreStats>): void {
  const picked = Object.fromEntries(Object.keys(expected).map((k) => [k, stats[k as keyof StoreStats]]));
  assert.deepEqual(picked, expected);
}

function codeOf(result: Refusal): string {
  return result === 'accepted' ? 'accepted' : result.code;
}

const PEER_VALUE = peerRecordCodec.encode({
  peerId: Uint8Array.of(1),
  contact: { uri: 'sip:p@x', candidates: [] },
});

function binding(instance: string, regId = 1, contact = `sip:alice@192.0.2.1;ob=${instance}`): Uint8Array {
  const b: Binding = { instanceId: instance, regId, contact, flowPeer: Uint8Array.of(9) };
  return bindingCodec.encode(b);
}
