import { DhtError } from './errors.js';

/** Record kinds (spec §4) and their one-octet codes on the wire. */
export const RecordKind = {
  BINDING: 1,
  CREDENTIAL: 2,
  PEER: 3,
} as const;
export type RecordKind = (typeof RecordKind)[keyof typeof RecordKind];

const KIND_NAMES: ReadonlyMap<number, string> = new Map(
  Object.entries(RecordKind).map(([name, code]) => [code, name]),
);

export function isRecordKind(value: number): value is RecordKind {
  return KIND_NAMES.has(value);
}

/** The kind named by `value`; anything else is `UNKNOWN_KIND` (answered with 400). */
export function parseRecordKind(value: number): RecordKind {
  if (!isRecordKind(value)) throw new DhtError('UNKNOWN_KIND', `record kind ${String(value)} is unknown`);
  return value;
}

/** `BINDING`, `CREDENTIAL` or `PEER`. */
export function recordKindName(kind: RecordKind): string {
  return KIND_NAMES.get(kind) as string;
}
