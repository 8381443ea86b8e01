import { RecordKind } from '../kinds.js';
import { peerRecordCodec } from '../values.js';

/** One record of a PUT/GET workload: a PEER record whose contact URI says which one it is. */
export interface WorkloadRecord {
  readonly key: string;
  readonly kind: RecordKind;
  /** The contact URI inside `value`: what a GET must find again. */
  readonly uri: string;
  readonly value: Uint8Array;
}

/** Record `i` of the workload the tests, simulations and benchmarks share: `sip:user<i>@example.org`. */
export function workloadRecord(i: number): WorkloadRecord {
  const uri = `sip:user${i}@192.0.2.${i % 250}:5060`;
  return {
    key: `sip:user${i}@example.org`,
    kind: RecordKind.PEER,
    uri,
    value: peerRecordCodec.encode({
      peerId: Uint8Array.of((i >> 8) & 0xff, i & 0xff),
      contact: { uri, candidates: [] },
    }),
  };
}

/** The contact URI of a workload record's value (what {@link workloadRecord} put in it). */
export function workloadUri(value: Uint8Array): string {
  return peerRecordCodec.decode(value).contact.uri;
}
