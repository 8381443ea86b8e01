import { DhtError } from './errors.js';

/** Record kinds (spec §4) and their one-octet codes on the wire. */
export const RecordKind = {
  BINDING: 1,
  CREDENTIAL: 2,
  PEER: 3,
  /** An administrator-signed revocation of a peer certificate under `revoked:<peer id hex>` (spec §5.3). */
  REVOCATION: 4,
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

/** `BINDING`, `CREDENTIAL`, `PEER` or `REVOCATION`. */
/**
 * Kinds whose records have no lifetime (spec §4, profile v2): kept until an administrator-signed record with a higher
 * serial replaces them. A CREDENTIAL tombstone is the exception: it goes after the store's `tombstoneRetention`.
 */
export function isLasting(kind: RecordKind): boolean {
  return kind === RecordKind.CREDENTIAL || kind === RecordKind.REVOCATION;
}

export function recordKindName(kind: RecordKind): string {
  return KIND_NAMES.get(kind) as string;
}
