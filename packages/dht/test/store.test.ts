import { describe, expect, it } from 'vitest';
import {
  DhtError,
  MemoryRecordStore,
  RecordKind,
  RecordStore,
  RECORD_OVERHEAD,
  bindingCodec,
  peerRecordCodec,
  type Binding,
} from '@xpp/dht';
import { recordStoreContract } from '@xpp/dht/testing';
import { FakeClock } from '@xpp/reliability/testing';

function binding(instance: string, regId = 1, contact = `sip:alice@192.0.2.1;ob=${instance}`): Uint8Array {
  const b: Binding = { instanceId: instance, regId, contact, flowPeer: Uint8Array.of(9) };
  return bindingCodec.encode(b);
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

// The behaviour every store shares is the contract (run against the SQLite store in apps/node-peer too).
recordStoreContract('MemoryRecordStore', (options) => new MemoryRecordStore(options), { describe, it });

describe('RecordStore (deprecated value)', () => {
  it('still builds the in-memory store', () => {
    expect(new RecordStore({ clock: new FakeClock() })).toBeInstanceOf(MemoryRecordStore);
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

describe('RecordStore values handed over', () => {
  it('keeps an owned value that spans its buffer, and copies a view or a value not handed over', () => {
    const store = new MemoryRecordStore({ clock: new FakeClock() });
    const own = binding('a');
    const put = (key: string, value: Uint8Array, owned?: boolean) =>
      store.put({
        key,
        kind: RecordKind.BINDING,
        value,
        lifetime: 60,
        ...(owned === undefined ? {} : { owned }),
      }).record.value;
    expect(put('sip:a@example.org', own, true)).toBe(own);
    const copied = binding('b');
    expect(put('sip:b@example.org', copied)).not.toBe(copied);
    // A view into a larger message (a decoded PUT): copied, so the record does not pin the message.
    const message = new Uint8Array(200);
    const encoded = binding('c');
    message.set(encoded, 50);
    const view = message.subarray(50, 50 + encoded.length);
    const kept = put('sip:c@example.org', view, true);
    expect(kept).not.toBe(view);
    expect(kept.buffer.byteLength).toBe(encoded.length);
    expect([...kept]).toEqual([...encoded]);
  });
});
