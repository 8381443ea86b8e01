import { MAX_OPTION_VALUE_SIZE, OPTION_HEADER_SIZE, WireError, type XppOption } from '@xpp/wire';
import { ByteReader, ByteWriter, fromUtf8 } from './internal/bytes.js';
import { checkSize } from './internal/codec.js';
import { isRecordKind } from './kinds.js';
import { MAX_KEY_SIZE } from './limits.js';
import { DhtOption } from './options.js';
import type { WireRecord } from './values.js';

/** Octets of a record carried by one RECORD option (its value less the flags octet). */
export const MAX_RECORD_PIECE_SIZE = MAX_OPTION_VALUE_SIZE - 1;

/** A record's octets: u8 kind, u16 length + UTF-8 key, u32 lifetime seconds, then the value to the end. */
export function encodeRecord(record: WireRecord): Uint8Array {
  if (!isRecordKind(record.kind)) {
    throw new WireError('INVALID_FIELD', `record kind ${String(record.kind)} is unknown`);
  }
  return new ByteWriter()
    .u8(record.kind, 'kind')
    .text(record.key, 2, 1, MAX_KEY_SIZE, 'record key')
    .u32(record.lifetime, 'lifetime')
    .bytes(record.value)
    .finish();
}

/** Reads {@link encodeRecord}'s octets; throws `WireError` only. The value is a view (no copy). */
export function decodeRecord(bytes: Uint8Array): WireRecord {
  const r = new ByteReader(bytes, 'record');
  const kind = r.u8('kind');
  if (!isRecordKind(kind)) throw new WireError('BAD_VALUE', `record kind ${kind} is unknown`);
  const keyBytes = r.bytes16('key');
  checkSize(keyBytes.length, 1, MAX_KEY_SIZE, 'record key', true);
  const key = fromUtf8(keyBytes, 'record key');
  const lifetime = r.u32('lifetime');
  return { kind, key, lifetime, value: r.rest() };
}

/** Cuts `bytes` into pieces of at most `size` octets (one empty piece for empty input). */
function pieces(bytes: Uint8Array, size: number): Uint8Array[] {
  if (bytes.length === 0) return [bytes];
  const out: Uint8Array[] = [];
  for (let at = 0; at < bytes.length; at += size) out.push(bytes.subarray(at, at + size));
  return out;
}

/** RECORD options carrying `records` in order, each record in one or more consecutive pieces. */
export function recordOptions(records: readonly WireRecord[]): XppOption[] {
  const out: XppOption[] = [];
  for (const record of records) {
    const parts = pieces(encodeRecord(record), MAX_RECORD_PIECE_SIZE);
    parts.forEach((bytes, i) =>
      out.push(DhtOption.RECORD.option({ more: i < parts.length - 1, bytes }, true)),
    );
  }
  return out;
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0] as Uint8Array;
  let size = 0;
  for (const part of parts) size += part.length;
  const out = new Uint8Array(size);
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/**
 * The records carried by the RECORD options among `options` (other types are skipped). A record whose last
 * piece is missing is `TRUNCATED`; more than `maxRecords` records is `TOO_LARGE`. Throws `WireError` only.
 */
export function readRecords(
  options: readonly XppOption[],
  maxRecords = Number.MAX_SAFE_INTEGER,
): WireRecord[] {
  const records: WireRecord[] = [];
  let parts: Uint8Array[] = [];
  for (const option of options) {
    if (option.type !== DhtOption.RECORD.type) continue;
    const piece = DhtOption.RECORD.decode(option);
    parts.push(piece.bytes);
    if (piece.more) continue;
    if (records.length === maxRecords) {
      throw new WireError('TOO_LARGE', `more than ${maxRecords} records in one message`);
    }
    records.push(decodeRecord(concat(parts)));
    parts = [];
  }
  if (parts.length > 0)
    throw new WireError('TRUNCATED', 'the last RECORD announces a piece that never comes');
  return records;
}

/** Octets the RECORD options for `record` take in a message (option headers included). */
export function recordWireSize(record: WireRecord): number {
  const size = 1 + 2 + Buffer.byteLength(record.key, 'utf8') + 4 + record.value.length;
  const count = Math.max(1, Math.ceil(size / MAX_RECORD_PIECE_SIZE));
  return size + count * (OPTION_HEADER_SIZE + 1);
}

/**
 * Splits `records` into batches whose RECORD options take at most `maxOctets` each, so that a handoff of a
 * large zone (JOIN, LEAVE, replication) fits messages of a bounded size. A record larger than `maxOctets`
 * travels alone in its batch.
 */
export function batchRecords(records: readonly WireRecord[], maxOctets: number): WireRecord[][] {
  const batches: WireRecord[][] = [];
  let batch: WireRecord[] = [];
  let size = 0;
  for (const record of records) {
    const next = recordWireSize(record);
    if (batch.length > 0 && size + next > maxOctets) {
      batches.push(batch);
      batch = [];
      size = 0;
    }
    batch.push(record);
    size += next;
  }
  if (batch.length > 0) batches.push(batch);
  return batches;
}

/** VALUE options carrying `value`, in pieces of at most 65535 octets. */
export function valueOptions(value: Uint8Array): XppOption[] {
  return pieces(value, MAX_OPTION_VALUE_SIZE).map((piece) => DhtOption.VALUE.option(piece, true));
}

/** The value carried by the VALUE options among `options` (concatenated), or undefined when there is none. */
export function readValue(options: readonly XppOption[]): Uint8Array | undefined {
  const parts = DhtOption.VALUE.findAll(options);
  return parts.length === 0 ? undefined : concat(parts);
}
