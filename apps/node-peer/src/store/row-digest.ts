import { hash } from 'node:crypto';

/** The SQL function name under which {@link rowDigest} is registered on the store's connection (migration v3). */
export const ROW_DIGEST_SQL = 'xpp_row_digest';

/** Octets a digest's input is laid out in; grown to the largest row seen (a value is bounded by the store). */
let scratch = Buffer.alloc(4096);

/**
 * A 16-octet digest of what a record row means: kind, key, subkey, value, wall-clock expiry and writer. SQLite
 * checks its own structure (pages, b-trees) but not what a cell holds: a byte flipped inside a value (a bad
 * sector, a stray write) still reads as a sound database and would be served as the record. Checked for every
 * row at load. The replica flag is left out: it is rewritten alone by `setRole`, and a wrong one only changes
 * which copy is primary, never what a lookup answers. Fields are length-prefixed so no two rows collide by
 * shifting octets from one field to the next.
 *
 * SHA-256 of the fields laid out in one reused buffer and hashed in one call: a start checks every row, and a
 * hash object and a buffer per field cost as much as the rest of the load (node-peer-durable-store.md).
 */
export function rowDigest(
  kind: number,
  key: string,
  subkey: string,
  value: Uint8Array,
  expiresAt: number | null,
  writer: string | null,
): Buffer {
  const head = `xpp-row v1\0${kind}\0${expiresAt ?? 'none'}`;
  const who = writer ?? '\0';
  // UTF-8 takes at most 3 octets per UTF-16 code unit: an upper bound without measuring each string first.
  const room = 20 + 3 * (head.length + key.length + subkey.length + who.length) + value.length;
  if (scratch.length < room) scratch = Buffer.alloc(Math.max(room, 2 * scratch.length));
  let at = 0;
  const text = (s: string): void => {
    const length = scratch.write(s, at + 4, 'utf8');
    scratch.writeUInt32BE(length, at);
    at += 4 + length;
  };
  text(head);
  text(key);
  text(subkey);
  scratch.writeUInt32BE(value.length, at);
  scratch.set(value, at + 4);
  at += 4 + value.length;
  text(who);
  return hash('sha256', scratch.subarray(0, at), 'buffer').subarray(0, 16);
}
