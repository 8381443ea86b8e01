import { decodeCredentialRecord, encodePublicCredential, publicCredential } from '../credential-record.js';
import { RecordKind } from '../kinds.js';
import type { WireRecord } from '../values.js';

/**
 * What a GET may answer (spec §5.6): a CREDENTIAL's public view, never its digest secrets, which stay with the
 * holders (they travel only in replication and zone hand-over, between holders); a tombstone is no user at all.
 */
export function answerable(records: readonly WireRecord[]): WireRecord[] {
  const out: WireRecord[] = [];
  for (const record of records) {
    if (record.kind !== RecordKind.CREDENTIAL) {
      out.push(record);
      continue;
    }
    const read = decodeCredentialRecord(record.value);
    if (read.type !== 'credential') continue;
    out.push({ ...record, value: encodePublicCredential(publicCredential(read.credential)) });
  }
  return out;
}
