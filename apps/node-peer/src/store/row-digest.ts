import { createHash } from 'node:crypto';

/** The SQL function name under which {@link rowDigest} is registered on the store's connection (migration v3). */
export const ROW_DIGEST_SQL = 'xpp_row_digest';

/**
 * A 16-octet digest of what a record row means: kind, key, subkey, value, wall-clock expiry and writer. SQLite
 * checks its own structure (pages, b-trees) but not what a cell holds: a byte flipped inside a value (a bad
 * sector, a stray write) still reads as a sound database and would be served as the record. Checked for every
 * row at load. The replica flag is left out: it is rewritten alone by `setRole`, and a wrong one only changes
 * which copy is primary, never what a lookup answers. Fields are length-prefixed so no two rows collide by
 * shifting octets from one field to the next.
 */
export function rowDigest(
  kind: number,
  key: string,
  subkey: string,
  value: Uint8Array,
  expiresAt: number | null,
  writer: string | null,
): Buffer {
  const hash = createHash('sha256');
  const field = (octets: Uint8Array): void => {
    const length = Buffer.alloc(4);
    length.writeUInt32BE(octets.length);
    hash.update(length).update(octets);
  };
  field(Buffer.from(`xpp-row v1\0${kind}\0${expiresAt ?? 'none'}`));
  field(Buffer.from(key));
  field(Buffer.from(subkey));
  field(value);
  field(Buffer.from(writer ?? '\0'));
  return hash.digest().subarray(0, 16);
}
