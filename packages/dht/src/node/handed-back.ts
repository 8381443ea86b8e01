import { LASTING_LIFETIME } from '../credential-book.js';
import { RecordKind } from '../kinds.js';
import type { StoredRecord } from '../store-types.js';
import { bindingCodec, bindingSubkey, type WireRecord } from '../values.js';

/** Which value of its key a record is (the store's subkey); undefined for a value the store will refuse anyway. */
function subkeyOf(record: WireRecord): string | undefined {
  if (record.kind !== RecordKind.BINDING) return '';
  try {
    return bindingSubkey(bindingCodec.decode(record.value));
  } catch {
    return undefined;
  }
}

/**
 * The records handed back (LEAVE with RETURN) that should replace what this node holds: highest serial / latest
 * expiry wins, as when two copies of a key meet anywhere else. A CREDENTIAL or REVOCATION goes to the store,
 * which keeps the highest serial and refuses a lower one; a BINDING or PEER value only where this node holds no
 * copy of it, or one that expires earlier. Keeping every held copy instead let a peer restarted from disk (the
 * lower id, which keeps the zone) hold on to a credential changed at the taker while it was down.
 */
export function newerThanHeld(
  records: readonly WireRecord[],
  held: readonly StoredRecord[],
  now: number,
): WireRecord[] {
  const expiries = new Map(held.map((r) => [`${r.kind}/${r.key}/${r.subkey}`, r.expiresAt]));
  return records.filter((r) => {
    if (
      r.lifetime === LASTING_LIFETIME ||
      r.kind === RecordKind.CREDENTIAL ||
      r.kind === RecordKind.REVOCATION
    )
      return true;
    const subkey = subkeyOf(r);
    if (subkey === undefined) return true;
    const mine = expiries.get(`${r.kind}/${r.key}/${subkey}`);
    return mine === undefined || now + r.lifetime * 1000 > mine;
  });
}
