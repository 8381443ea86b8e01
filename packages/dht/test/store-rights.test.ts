import { describe, expect, it } from 'vitest';
import {
  DhtError,
  LASTING_LIFETIME,
  MemoryRecordStore,
  RecordKind,
  bindingCodec,
  createCredential,
  createCredentialVerifier,
  createRemovalVerifier,
  decodeCredentialRecord,
  encodeCredential,
  encodeCredentialRemoval,
  encodePublicCredential,
  generateAdminKeyPair,
  publicCredential,
  signCredential,
  signCredentialRemoval,
  type RecordStoreOptions,
} from '@xpp/dht';
import { FakeClock } from '@xpp/reliability/testing';

const AOR = 'sip:alice@example.org';
const DAY = 86_400_000;
const admin = generateAdminKeyPair();
const other = generateAdminKeyPair();
const checks = {
  verifyCredential: createCredentialVerifier(admin.publicKey),
  verifyCredentialRemoval: createRemovalVerifier(admin.publicKey),
};

function credential(serial: number, password = 'pw', key = admin.privateKey): Uint8Array {
  return encodeCredential(
    signCredential(createCredential({ aor: AOR, realm: 'example.org', password, serial }), key),
  );
}

function tombstone(serial: number, key = admin.privateKey): Uint8Array {
  return encodeCredentialRemoval(signCredentialRemoval(AOR, serial, key));
}

function refusal(run: () => unknown): string {
  try {
    run();
    return 'accepted';
  } catch (error) {
    if (DhtError.is(error)) return `${error.code} ${error.status}`;
    throw error;
  }
}

function storeWith(options: Partial<RecordStoreOptions> = {}): {
  store: MemoryRecordStore;
  clock: FakeClock;
} {
  const clock = new FakeClock();
  return { clock, store: new MemoryRecordStore({ clock, ...checks, ...options }) };
}

const put =
  (store: MemoryRecordStore, value: Uint8Array, role: 'primary' | 'replica' = 'primary') =>
  () =>
    store.put({ key: AOR, kind: RecordKind.CREDENTIAL, value, lifetime: 1, role });

describe('credential serials (spec §5.6)', () => {
  it('keeps credentials without lifetime and refuses an equal or lower serial', () => {
    const { store, clock } = storeWith();
    expect(put(store, credential(2))().lifetime).toBe(LASTING_LIFETIME);
    clock.advance(400 * DAY);
    const [held] = store.get(AOR, RecordKind.CREDENTIAL);
    expect(held?.expiresAt).toBe(Infinity);
    expect(store.toWire(held!).lifetime).toBe(LASTING_LIFETIME);
    expect(refusal(put(store, credential(1)))).toBe('STALE_SERIAL 409');
    // Same serial, another password: the administrator's change cannot be swapped at the same serial.
    expect(refusal(put(store, credential(2, 'other')))).toBe('STALE_SERIAL 409');
    // The very same octets again (a retry, a re-replication) change nothing and are not an error.
    expect(refusal(put(store, credential(2)))).toBe('accepted');
    expect(refusal(put(store, credential(3)))).toBe('accepted');
    expect(store.stats.refusals.STALE_SERIAL).toBe(2);
  });

  it('refuses an older credential on the replica and hand-over path too (REPLICATE, JOIN, LEAVE insert)', () => {
    const { store } = storeWith();
    put(store, credential(5), 'replica')();
    const older = { kind: RecordKind.CREDENTIAL, key: AOR, value: credential(4), lifetime: LASTING_LIFETIME };
    for (const role of ['replica', 'primary'] as const) {
      const result = store.insert([older], role);
      expect(result.stored).toBe(0);
      expect(result.refused.map((r) => r.error.code)).toEqual(['STALE_SERIAL']);
    }
    const held = decodeCredentialRecord(store.get(AOR, RecordKind.CREDENTIAL)[0]!.value);
    expect(held.type === 'credential' && held.credential.serial).toBe(5);
  });

  it('removes by an administrator-signed tombstone that blocks the old serial, kept 30 days', () => {
    const { store, clock } = storeWith();
    put(store, credential(2))();
    expect(refusal(put(store, tombstone(2)))).toBe('STALE_SERIAL 409');
    expect(refusal(put(store, tombstone(3, other.privateKey)))).toBe('BAD_SIGNATURE 403');
    const forged = tombstone(3);
    forged[forged.length - 1]! ^= 1;
    expect(refusal(put(store, forged))).toBe('BAD_SIGNATURE 403');
    expect(put(store, tombstone(3))().lifetime).toBe(30 * 86_400);
    expect(decodeCredentialRecord(store.get(AOR, RecordKind.CREDENTIAL)[0]!.value).type).toBe('removal');
    // The tombstone counts toward the store's bounds.
    expect(store.stats.records).toBe(1);
    expect(refusal(put(store, credential(2)))).toBe('STALE_SERIAL 409');
    expect(store.insert([{ kind: 2, key: AOR, value: credential(2), lifetime: 9 }], 'replica').stored).toBe(
      0,
    );
    clock.advance(29 * DAY);
    expect(refusal(put(store, credential(3)))).toBe('STALE_SERIAL 409');
    expect(store.get(AOR, RecordKind.CREDENTIAL)).toHaveLength(1);
    clock.advance(DAY);
    expect(store.get(AOR, RecordKind.CREDENTIAL)).toHaveLength(0);
    expect(store.stats.records).toBe(0);
    expect(refusal(put(store, credential(4)))).toBe('accepted');
  });

  it('refuses tombstones without a removal check, public views always, and another AOR', () => {
    const store = new MemoryRecordStore({
      clock: new FakeClock(),
      verifyCredential: checks.verifyCredential,
    });
    expect(refusal(put(store, tombstone(1)))).toBe('CREDENTIAL_REFUSED 403');
    const { store: full } = storeWith();
    const view = encodePublicCredential(
      publicCredential(createCredential({ aor: AOR, realm: 'example.org', password: 'pw', serial: 9 })),
    );
    expect(refusal(put(full, view))).toBe('INVALID_VALUE 400');
    const bob = encodeCredentialRemoval(signCredentialRemoval('sip:bob@example.org', 4, admin.privateKey));
    expect(refusal(put(full, bob))).toBe('CREDENTIAL_REFUSED 403');
  });

  it('gives a public view with no digest secret', () => {
    const c = createCredential({ aor: AOR, realm: 'example.org', password: 'pw', serial: 7 });
    const bytes = encodePublicCredential(publicCredential(c));
    expect(Buffer.from(bytes).includes(Buffer.from(c.ha1Sha256))).toBe(false);
    expect(Buffer.from(bytes).includes(Buffer.from(c.ha1Md5!))).toBe(false);
    expect(decodeCredentialRecord(bytes)).toEqual({
      type: 'public',
      view: { aor: AOR, username: 'alice', realm: 'example.org', serial: 7, md5: true },
    });
  });
});

describe('REVOCATION records', () => {
  const key = `revoked:${'ab'.repeat(16)}`;
  const value = Uint8Array.of(1, 2, 3);
  const putRevocation =
    (store: MemoryRecordStore, v = value) =>
    () =>
      store.put({ key, kind: RecordKind.REVOCATION, value: v, lifetime: 1 });

  it('are refused without an administrator check, kept without lifetime with one, never replaced', () => {
    expect(refusal(putRevocation(storeWith().store))).toBe('CREDENTIAL_REFUSED 403');
    const seen: string[] = [];
    const { store, clock } = storeWith({
      verifyRevocation: (k, v) => {
        seen.push(k);
        if (v[0] !== 1) throw new DhtError('BAD_SIGNATURE', 'not signed');
      },
    });
    expect(refusal(putRevocation(store, Uint8Array.of(9)))).toBe('BAD_SIGNATURE 403');
    expect(putRevocation(store)().lifetime).toBe(LASTING_LIFETIME);
    expect(seen).toEqual([key, key]);
    clock.advance(1000 * DAY);
    expect(store.get(key, RecordKind.REVOCATION)).toHaveLength(1);
    expect(refusal(putRevocation(store))).toBe('accepted');
    expect(refusal(putRevocation(store, Uint8Array.of(1, 9)))).toBe('STALE_SERIAL 409');
  });
});

describe('per-writer bounds', () => {
  const peer = (n: number) =>
    bindingCodec.encode({
      instanceId: `i${n}`,
      regId: 1,
      contact: `sip:a@192.0.2.1`,
      flowPeer: Uint8Array.of(n),
    });
  const putBy = (store: MemoryRecordStore, writer: string | undefined, key: string, value = peer(1)) =>
    store.put({
      key,
      kind: RecordKind.BINDING,
      value,
      lifetime: 60,
      ...(writer === undefined ? {} : { writer }),
    });

  it('default to a quarter of the store bounds', () => {
    const { store } = storeWith({ maxRecords: 100, maxOctets: 40_000 });
    expect(store.limits.maxRecordsPerWriter).toBe(25);
    expect(store.limits.maxOctetsPerWriter).toBe(10_000);
  });

  it('refuse a writer at its bound of records with 503, counted, and leave the others room', () => {
    const { store } = storeWith({ maxRecordsPerWriter: 2 });
    putBy(store, 'aa', 'sip:1@x');
    putBy(store, 'aa', 'sip:2@x');
    expect(refusal(() => putBy(store, 'aa', 'sip:3@x'))).toBe('WRITER_QUOTA 503');
    // Replacing its own record is no new record.
    expect(refusal(() => putBy(store, 'aa', 'sip:2@x'))).toBe('accepted');
    expect(refusal(() => putBy(store, 'bb', 'sip:3@x'))).toBe('accepted');
    expect(refusal(() => putBy(store, undefined, 'sip:4@x'))).toBe('accepted');
    expect(store.stats.writerRefusals).toEqual({ 'writer-records': 1, 'writer-octets': 0 });
    expect(store.stats.refusals.WRITER_QUOTA).toBe(1);
    expect(store.stats.refusedFull).toBe(1);
    // What a writer's record frees when it goes, the writer may use again.
    store.remove('sip:1@x', RecordKind.BINDING);
    expect(refusal(() => putBy(store, 'aa', 'sip:5@x'))).toBe('accepted');
    // Another writer taking over a record moves it out of the first writer's count.
    putBy(store, 'bb', 'sip:5@x');
    expect(refusal(() => putBy(store, 'aa', 'sip:6@x'))).toBe('accepted');
  });

  it('refuse a writer at its bound of octets', () => {
    const { store } = storeWith({ maxOctetsPerWriter: 300 });
    putBy(store, 'aa', 'sip:1@x');
    expect(refusal(() => putBy(store, 'aa', 'sip:2@x', peer(2)))).toBe('WRITER_QUOTA 503');
    expect(store.stats.writerRefusals['writer-octets']).toBe(1);
    expect(store.select(() => true)[0]?.writer).toBe('aa');
  });
});
