import { describe, expect, it } from 'vitest';
import {
  DhtError,
  RecordKind,
  RecordStore,
  RECORD_OVERHEAD,
  bindingCodec,
  createCredential,
  createCredentialVerifier,
  encodeCredential,
  generateAdminKeyPair,
  peerRecordCodec,
  signCredential,
  type Binding,
  type StoreChange,
} from '@xpp/dht';
import { FakeClock } from '@xpp/reliability/testing';

const AOR = 'sip:alice@example.org';
const admin = generateAdminKeyPair();
const verifyCredential = createCredentialVerifier(admin.publicKey);

function binding(instance: string, regId = 1, contact = `sip:alice@192.0.2.1;ob=${instance}`): Uint8Array {
  const b: Binding = { instanceId: instance, regId, contact, flowPeer: Uint8Array.of(9) };
  return bindingCodec.encode(b);
}

const peerValue = peerRecordCodec.encode({
  peerId: Uint8Array.of(1),
  contact: { uri: 'sip:p@x', candidates: [] },
});

function credential(serial: number, aor = AOR): Uint8Array {
  return encodeCredential(
    signCredential(createCredential({ aor, realm: 'example.org', password: 'pw', serial }), admin.privateKey),
  );
}

function refusal(run: () => unknown): { code: string; status: number } | 'accepted' {
  try {
    run();
    return 'accepted';
  } catch (error) {
    if (DhtError.is(error)) return { code: error.code, status: error.status };
    throw error;
  }
}

describe('RecordStore', () => {
  it('keeps one binding per instance id / reg-id, each with its own expiry', () => {
    const clock = new FakeClock();
    const store = new RecordStore({ clock });
    store.put({ key: AOR, kind: RecordKind.BINDING, value: binding('a'), lifetime: 60 });
    store.put({ key: AOR, kind: RecordKind.BINDING, value: binding('b'), lifetime: 120 });
    store.put({
      key: AOR,
      kind: RecordKind.BINDING,
      value: binding('a', 1, 'sip:alice@198.51.100.1'),
      lifetime: 120,
    });
    expect(
      store
        .get(AOR, RecordKind.BINDING)
        .map((r) => bindingCodec.decode(r.value).contact)
        .sort(),
    ).toEqual(['sip:alice@192.0.2.1;ob=b', 'sip:alice@198.51.100.1']);
    store.put({ key: AOR, kind: RecordKind.BINDING, value: binding('c'), lifetime: 30 });
    clock.advance(30_000);
    expect(store.get(AOR, RecordKind.BINDING)).toHaveLength(2);
    clock.advance(90_000);
    expect(store.get(AOR, RecordKind.BINDING)).toHaveLength(0);
    expect(store.stats).toMatchObject({ records: 0, octets: 0, expired: 3 });
  });

  it('expires a replaced record at its new expiry, earlier or later than the old one', () => {
    const clock = new FakeClock();
    const store = new RecordStore({ clock });
    store.put({ key: 'short', kind: RecordKind.PEER, value: peerValue, lifetime: 100 });
    store.put({ key: 'short', kind: RecordKind.PEER, value: peerValue, lifetime: 10 });
    store.put({ key: 'long', kind: RecordKind.PEER, value: peerValue, lifetime: 10 });
    store.put({ key: 'long', kind: RecordKind.PEER, value: peerValue, lifetime: 100 });
    for (let i = 0; i < 1000; i++)
      store.put({ key: 'churn', kind: RecordKind.PEER, value: peerValue, lifetime: 50 });
    clock.advance(10_000);
    expect(store.sweep()).toBe(1);
    expect(store.get('short', RecordKind.PEER)).toEqual([]);
    expect(store.get('long', RecordKind.PEER)).toHaveLength(1);
    clock.advance(40_000);
    expect(store.sweep()).toBe(1);
    clock.advance(50_000);
    expect(store.sweep()).toBe(1);
    expect(store.stats).toMatchObject({ records: 0, octets: 0, expired: 3 });
  });

  it("keeps its own copy of a value, not a view into the caller's message", () => {
    const store = new RecordStore({ clock: new FakeClock() });
    const message = new Uint8Array(1000);
    message.set(peerValue, 10);
    const value = message.subarray(10, 10 + peerValue.length);
    const { record } = store.put({ key: 'k', kind: RecordKind.PEER, value, lifetime: 1 });
    expect(record.value.buffer).not.toBe(message.buffer);
    message.fill(0);
    expect(store.get('k', RecordKind.PEER)[0]!.value).toEqual(peerValue);
  });

  it('removes one binding or all of an AOR', () => {
    const store = new RecordStore({ clock: new FakeClock() });
    store.put({ key: AOR, kind: RecordKind.BINDING, value: binding('a'), lifetime: 60 });
    store.put({ key: AOR, kind: RecordKind.BINDING, value: binding('b'), lifetime: 60 });
    expect(store.remove(AOR, RecordKind.BINDING, { instanceId: 'b', regId: 1, contact: 'ignored' })).toBe(1);
    expect(store.remove(AOR, RecordKind.BINDING, { instanceId: 'b', regId: 1, contact: 'ignored' })).toBe(0);
    expect(store.get(AOR, RecordKind.BINDING)).toHaveLength(1);
    expect(store.remove(AOR, RecordKind.BINDING)).toBe(1);
    expect(store.stats.records).toBe(0);
  });

  it('refuses unknown kinds, bad keys, bad lifetimes, bad values with 400 and oversized values with 413', () => {
    const store = new RecordStore({ clock: new FakeClock(), maxValueSize: 100, maxKeySize: 8 });
    expect(refusal(() => store.put({ key: 'k', kind: 7, value: peerValue, lifetime: 1 }))).toEqual({
      code: 'UNKNOWN_KIND',
      status: 400,
    });
    expect(refusal(() => store.get('k', 0))).toEqual({ code: 'UNKNOWN_KIND', status: 400 });
    expect(
      refusal(() => store.put({ key: '', kind: RecordKind.PEER, value: peerValue, lifetime: 1 })),
    ).toMatchObject({ code: 'INVALID_KEY' });
    expect(
      refusal(() => store.put({ key: '123456789', kind: RecordKind.PEER, value: peerValue, lifetime: 1 })),
    ).toMatchObject({ code: 'INVALID_KEY' });
    expect(
      refusal(() => store.put({ key: 'k', kind: RecordKind.PEER, value: peerValue, lifetime: 0 })),
    ).toMatchObject({ code: 'INVALID_LIFETIME' });
    expect(
      refusal(() => store.put({ key: 'k', kind: RecordKind.PEER, value: peerValue, lifetime: 1.5 })),
    ).toMatchObject({ code: 'INVALID_LIFETIME' });
    expect(
      refusal(() => store.put({ key: 'k', kind: RecordKind.BINDING, value: Uint8Array.of(1), lifetime: 1 })),
    ).toEqual({ code: 'INVALID_VALUE', status: 400 });
    expect(
      refusal(() => store.put({ key: 'k', kind: RecordKind.PEER, value: Uint8Array.of(1), lifetime: 1 })),
    ).toMatchObject({ code: 'INVALID_VALUE' });
    expect(
      refusal(() => store.put({ key: 'k', kind: RecordKind.PEER, value: new Uint8Array(101), lifetime: 1 })),
    ).toEqual({ code: 'VALUE_TOO_LARGE', status: 413 });
    expect(store.stats).toMatchObject({ records: 0, refusedInvalid: 8, refusedFull: 0 });
  });

  it('caps lifetimes at maxLifetime (default one day) and reports the granted lifetime', () => {
    const clock = new FakeClock();
    const store = new RecordStore({ clock });
    const result = store.put({ key: 'k', kind: RecordKind.PEER, value: peerValue, lifetime: 10 * 86_400 });
    expect(result.lifetime).toBe(86_400);
    expect(result.record.expiresAt).toBe(clock.now() + 86_400_000);
  });

  it('answers 503 when the record or octet bound is reached, and frees expired records first', () => {
    const clock = new FakeClock();
    const store = new RecordStore({ clock, maxRecords: 2 });
    store.put({ key: 'a', kind: RecordKind.PEER, value: peerValue, lifetime: 10 });
    store.put({ key: 'b', kind: RecordKind.PEER, value: peerValue, lifetime: 100 });
    expect(
      refusal(() => store.put({ key: 'c', kind: RecordKind.PEER, value: peerValue, lifetime: 1 })),
    ).toEqual({ code: 'STORE_FULL', status: 503 });
    // Replacing an existing record needs no room.
    expect(
      refusal(() => store.put({ key: 'b', kind: RecordKind.PEER, value: peerValue, lifetime: 50 })),
    ).toBe('accepted');
    clock.advance(10_000);
    expect(refusal(() => store.put({ key: 'c', kind: RecordKind.PEER, value: peerValue, lifetime: 1 }))).toBe(
      'accepted',
    );
    expect(store.stats).toMatchObject({ records: 2, refusedFull: 1, expired: 1 });

    const small = new RecordStore({ clock, maxOctets: 400 });
    const flood = (): number => {
      let stored = 0;
      for (let i = 0; i < 100; i++) {
        if (
          refusal(() =>
            small.put({ key: `k${i}`, kind: RecordKind.PEER, value: peerValue, lifetime: 10 }),
          ) === 'accepted'
        )
          stored++;
      }
      return stored;
    };
    expect(flood()).toBe(2);
    expect(small.stats.octets).toBeLessThanOrEqual(400);
  });

  it('bounds the bindings of one AOR', () => {
    const store = new RecordStore({ clock: new FakeClock(), maxBindingsPerAor: 2 });
    store.put({ key: AOR, kind: RecordKind.BINDING, value: binding('a'), lifetime: 60 });
    store.put({ key: AOR, kind: RecordKind.BINDING, value: binding('b'), lifetime: 60 });
    expect(
      refusal(() => store.put({ key: AOR, kind: RecordKind.BINDING, value: binding('c'), lifetime: 60 })),
    ).toEqual({ code: 'TOO_MANY_BINDINGS', status: 503 });
    expect(
      refusal(() => store.put({ key: AOR, kind: RecordKind.BINDING, value: binding('a'), lifetime: 90 })),
    ).toBe('accepted');
  });

  it('accepts only credentials signed by the administrator, under their own AOR, never older ones', () => {
    const clock = new FakeClock();
    expect(
      refusal(() =>
        new RecordStore({ clock }).put({
          key: AOR,
          kind: RecordKind.CREDENTIAL,
          value: credential(1),
          lifetime: 60,
        }),
      ),
    ).toEqual({ code: 'CREDENTIAL_REFUSED', status: 403 });
    const store = new RecordStore({ clock, verifyCredential });
    expect(
      refusal(() => store.put({ key: AOR, kind: RecordKind.CREDENTIAL, value: credential(2), lifetime: 60 })),
    ).toBe('accepted');
    const forged = credential(3);
    forged[forged.length - 1]! ^= 1;
    expect(
      refusal(() => store.put({ key: AOR, kind: RecordKind.CREDENTIAL, value: forged, lifetime: 60 })),
    ).toEqual({ code: 'BAD_SIGNATURE', status: 403 });
    expect(
      refusal(() =>
        store.put({
          key: 'sip:bob@example.org',
          kind: RecordKind.CREDENTIAL,
          value: credential(3),
          lifetime: 60,
        }),
      ),
    ).toMatchObject({ code: 'CREDENTIAL_REFUSED' });
    expect(
      refusal(() => store.put({ key: AOR, kind: RecordKind.CREDENTIAL, value: credential(1), lifetime: 60 })),
    ).toEqual({ code: 'STALE_SERIAL', status: 409 });
    expect(
      refusal(() => store.put({ key: AOR, kind: RecordKind.CREDENTIAL, value: credential(3), lifetime: 60 })),
    ).toBe('accepted');
    expect(store.get(AOR, RecordKind.CREDENTIAL)).toHaveLength(1);
  });

  it('selects and extracts by predicate, hands records over with remaining lifetimes, and tracks roles', () => {
    const clock = new FakeClock();
    const from = new RecordStore({ clock });
    const to = new RecordStore({ clock });
    const changes: StoreChange[] = [];
    from.onChange((c) => changes.push(c));
    for (let i = 0; i < 20; i++)
      from.put({ key: `k${i}`, kind: RecordKind.PEER, value: peerValue, lifetime: 100 });
    clock.advance(40_500);
    // The "upper half": records whose key digest starts with a set bit, as a zone predicate would decide.
    const upper = (r: { keyDigest: Uint8Array }): boolean => (r.keyDigest[0]! & 0x80) !== 0;
    const selected = from.select(upper);
    expect(selected.length).toBeGreaterThan(0);
    const moved = from.extract(upper);
    expect(moved).toEqual(selected);
    expect(from.select(upper)).toEqual([]);
    expect(changes.filter((c) => c.type === 'remove' && c.reason === 'extracted')).toHaveLength(moved.length);
    const wire = moved.map((r) => from.toWire(r));
    expect(wire.every((r) => r.lifetime === 60)).toBe(true);
    expect(to.insert(wire, 'replica')).toEqual({ stored: moved.length, refused: [] });
    expect(to.stats.replicas).toBe(moved.length);
    expect(to.setRole(() => true, 'primary')).toBe(moved.length);
    expect(to.stats).toMatchObject({ replicas: 0, primaries: moved.length });
    clock.advance(60_000);
    expect(to.sweep()).toBe(moved.length);
  });

  it('reports refusals of a handoff record by record without losing the others', () => {
    const store = new RecordStore({ clock: new FakeClock() });
    const result = store.insert(
      [
        { kind: RecordKind.PEER, key: 'ok', value: peerValue, lifetime: 5 },
        { kind: RecordKind.BINDING, key: AOR, value: Uint8Array.of(0), lifetime: 5 },
        { kind: RecordKind.CREDENTIAL, key: AOR, value: credential(1), lifetime: 5 },
        { kind: RecordKind.PEER, key: 'gone', value: peerValue, lifetime: 0 },
      ],
      'primary',
    );
    expect(result.stored).toBe(1);
    expect(result.refused.map((r) => r.error.code)).toEqual(['INVALID_VALUE', 'CREDENTIAL_REFUSED']);
  });

  it('refuses nonsense bounds', () => {
    expect(refusal(() => new RecordStore({ clock: new FakeClock(), maxRecords: 0 }))).toMatchObject({
      code: 'INVALID_ARGUMENT',
    });
  });
});

describe('RecordStore accounting', () => {
  it('keeps its counters equal to what it holds through any sequence of operations', async () => {
    const fc = (await import('fast-check')).default;
    const op = fc.oneof(
      fc.record({
        op: fc.constant('put' as const),
        key: fc.integer({ min: 0, max: 5 }),
        instance: fc.constantFrom('a', 'b', 'c'),
        kind: fc.constantFrom(RecordKind.BINDING, RecordKind.PEER),
        lifetime: fc.integer({ min: 1, max: 100 }),
        replica: fc.boolean(),
        uriLength: fc.integer({ min: 1, max: 400 }),
      }),
      fc.record({ op: fc.constant('remove' as const), key: fc.integer({ min: 0, max: 5 }) }),
      fc.record({ op: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 50_000 }) }),
      fc.record({ op: fc.constant('extract' as const), bit: fc.integer({ min: 0, max: 7 }) }),
      fc.record({ op: fc.constant('promote' as const) }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 60 }), (ops) => {
        const clock = new FakeClock();
        const store = new RecordStore({ clock, maxRecords: 8, maxOctets: 1500, maxBindingsPerAor: 2 });
        for (const o of ops) {
          if (o.op === 'put') {
            const value =
              o.kind === RecordKind.BINDING
                ? binding(o.instance)
                : peerRecordCodec.encode({
                    peerId: Uint8Array.of(1),
                    contact: { uri: 'u'.repeat(o.uriLength), candidates: [] },
                  });
            const result = refusal(() =>
              store.put({
                key: `k${o.key}`,
                kind: o.kind,
                value,
                lifetime: o.lifetime,
                role: o.replica ? 'replica' : 'primary',
              }),
            );
            if (result !== 'accepted') expect(['STORE_FULL', 'TOO_MANY_BINDINGS']).toContain(result.code);
          } else if (o.op === 'remove') store.remove(`k${o.key}`, RecordKind.BINDING);
          else if (o.op === 'advance') clock.advance(o.ms);
          else if (o.op === 'extract') store.extract((r) => (r.keyDigest[0]! >> o.bit) % 2 === 1);
          else store.setRole((r) => r.role === 'replica', 'primary');
          store.sweep();
          const live = store.select(() => true);
          const stats = store.stats;
          expect(stats.records).toBe(live.length);
          expect(stats.replicas).toBe(live.filter((r) => r.role === 'replica').length);
          expect(stats.records).toBeLessThanOrEqual(8);
          expect(stats.octets).toBeLessThanOrEqual(1500);
          const octets = live.reduce(
            (n, r) => n + Buffer.byteLength(r.key) + r.subkey.length + r.value.length + RECORD_OVERHEAD,
            0,
          );
          expect(stats.octets).toBe(octets);
        }
      }),
    );
  });
});
