import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { OPTION_HEADER_SIZE, WireError } from '@xpp/wire';
import { DhtOption, RecordKind, type WireRecord } from '@xpp/dht';
import {
  MAX_RECORD_PIECE_SIZE,
  batchRecords,
  decodeRecord,
  encodeRecord,
  readRecords,
  recordOptions,
  recordWireSize,
} from '../src/records.js';
import * as arb from './support/arbitraries.js';

describe('records on the wire', () => {
  it('round-trip, alone and in lists', () => {
    fc.assert(
      fc.property(fc.array(arb.wireRecord, { maxLength: 6 }), (records) => {
        for (const r of records) expect(decodeRecord(encodeRecord(r))).toEqual(r);
        expect(readRecords(recordOptions(records))).toEqual(records);
      }),
    );
  });

  it('cut a record larger than one option into consecutive pieces', () => {
    const big: WireRecord = {
      kind: RecordKind.BINDING,
      key: 'sip:a@b',
      value: new Uint8Array(150_000).fill(7),
      lifetime: 9,
    };
    const small: WireRecord = { kind: RecordKind.PEER, key: 'p', value: Uint8Array.of(1), lifetime: 1 };
    const options = recordOptions([big, small]);
    const pieces = options.map((o) => DhtOption.RECORD.decode(o));
    expect(pieces.map((p) => p.more)).toEqual([true, true, false, false]);
    expect(pieces[0]!.bytes.length).toBe(MAX_RECORD_PIECE_SIZE);
    const [back, other] = readRecords(options);
    expect(Buffer.from(back!.value).equals(big.value)).toBe(true);
    expect({ ...back, value: undefined }).toEqual({ ...big, value: undefined });
    expect(other).toEqual(small);
    expect(options.reduce((n, o) => n + OPTION_HEADER_SIZE + o.value.length, 0)).toBe(
      recordWireSize(big) + recordWireSize(small),
    );
  });

  it('refuse a record whose last piece never comes, and garbage, with a WireError', () => {
    const options = recordOptions([
      { kind: RecordKind.PEER, key: 'p', value: new Uint8Array(70_000), lifetime: 1 },
    ]);
    expect(() => readRecords(options.slice(0, 1))).toThrow(WireError);
    fc.assert(
      fc.property(arb.bytes(0, 200), (input) => {
        try {
          decodeRecord(input);
        } catch (error) {
          expect(WireError.is(error)).toBe(true);
        }
      }),
    );
  });

  it('batch so that each batch stays within the budget unless one record alone exceeds it', () => {
    fc.assert(
      fc.property(
        fc.array(arb.wireRecord, { maxLength: 30 }),
        fc.integer({ min: 50, max: 2000 }),
        (records, budget) => {
          const batches = batchRecords(records, budget);
          expect(batches.flat()).toEqual(records);
          for (const batch of batches) {
            const size = batch.reduce((n, r) => n + recordWireSize(r), 0);
            expect(batch.length === 1 || size <= budget).toBe(true);
          }
        },
      ),
    );
  });
});
