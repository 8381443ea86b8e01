import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeMessage, encodeMessage, WireError } from '@xpp/wire';
import {
  decodeReplicate,
  encodeReplicate,
  recordSetDigest,
  REPLICATE,
  sameDigest,
} from '../src/node/replication.js';
import { RecordKind, type StoredRecord } from '@xpp/dht';
import * as arb from './support/arbitraries.js';

const stored = fc.record({
  kind: arb.kind,
  key: arb.text(40),
  subkey: arb.text(20, 0),
  value: arb.bytes(0, 64),
  expiresAt: fc.nat(),
  role: fc.constantFrom('primary' as const, 'replica' as const),
  keyDigest: arb.bytes(32, 32),
}) as fc.Arbitrary<StoredRecord>;

/** Records with distinct identities (kind, key digest, subkey), as a store holds them. */
const recordSet = fc.uniqueArray(stored, {
  maxLength: 12,
  selector: (r) => `${r.kind}/${Buffer.from(r.keyDigest).toString('hex')}/${r.subkey}`,
});

describe('REPLICATE digest check', () => {
  it('round-trips a check and keeps it apart from a drop', () => {
    fc.assert(
      fc.property(recordSet, (records) => {
        const digest = recordSetDigest(records);
        const options = encodeReplicate({ zones: [Uint8Array.of(1, 0x80)], records: [], digest });
        const wire = decodeMessage(
          encodeMessage({ number: 1, response: false, type: REPLICATE.type, options }),
        );
        const decoded = decodeReplicate(wire.options);
        expect(decoded.digest).toEqual(digest);
        expect(decoded.records).toEqual([]);
        expect(
          decodeReplicate(encodeReplicate({ zones: [Uint8Array.of(1, 0x80)], records: [] })).digest,
        ).toBe(undefined);
      }),
    );
  });

  it('refuses a check that also carries records', () => {
    const digest = recordSetDigest([]);
    const record = { kind: RecordKind.PEER, key: 'k', value: Uint8Array.of(1), lifetime: 60 };
    const options = encodeReplicate({ zones: [Uint8Array.of(1, 0x80)], records: [record], digest });
    expect(() => decodeReplicate(options)).toThrow(WireError);
  });

  it('digests a set alike in any order, whatever the role and expiry, and tells sets apart', () => {
    fc.assert(
      fc.property(recordSet, fc.nat(), (records, shift) => {
        const digest = recordSetDigest(records);
        const reordered = [
          ...records.slice(shift % (records.length + 1)),
          ...records.slice(0, shift % (records.length + 1)),
        ];
        const asReplicas = reordered.map((r) => ({
          ...r,
          role: 'replica' as const,
          expiresAt: r.expiresAt + 1,
        }));
        expect(sameDigest(recordSetDigest(asReplicas), digest)).toBe(true);
        expect(digest.records).toBe(records.length);
        if (records.length === 0) return;
        // One record fewer, or one value changed: another digest.
        expect(sameDigest(recordSetDigest(records.slice(1)), digest)).toBe(false);
        const [first, ...rest] = records as [StoredRecord, ...StoredRecord[]];
        const changed = { ...first, value: Uint8Array.of(...first.value, 0) };
        expect(sameDigest(recordSetDigest([changed, ...rest]), digest)).toBe(false);
      }),
    );
  });
});
