import { WireError } from './errors.js';
import { checkUint, readU16, targetFor, writeU16 } from './internal/bytes.js';

/** The only XPP version (spec §2). */
export const XPP_VERSION = 1;
/** Octets of the fragment header. */
export const FRAGMENT_HEADER_SIZE = 8;
/** Largest UDP payload over IPv4, the upper bound for any endpoint's maximum datagram. */
export const MAX_DATAGRAM_SIZE = 65507;
/** Smallest maximum datagram an endpoint may configure. */
export const MIN_DATAGRAM_SIZE = 576;
/** Default maximum datagram (spec §2): fits every path with a 1280-octet IPv6 MTU. */
export const DEFAULT_DATAGRAM_SIZE = 1200;

/** Flag bits of the first 16-bit word (spec §2). Combine with `|`. */
export const Flag = {
  SYN: 0x0010,
  ACK: 0x0008,
  REL: 0x0004,
  LFR: 0x0002,
  KPA: 0x0001,
} as const;
export type FlagName = keyof typeof Flag;
const FLAG_MASK = 0x001f;

/** The header fields of one datagram. `flags` is a bit set of {@link Flag}. */
export interface FragmentHeader {
  readonly version: number;
  readonly flags: number;
  readonly seq: number;
  readonly localId: number;
  readonly remoteId: number;
}

/** One datagram: header plus payload. A decoded payload is a view into the datagram (no copy). */
export interface Fragment extends FragmentHeader {
  readonly payload: Uint8Array;
}

/** What {@link encodeFragment} takes: `version` defaults to 1, `payload` to empty. */
export interface FragmentInit {
  readonly version?: number;
  readonly flags: number;
  readonly seq: number;
  readonly localId: number;
  readonly remoteId: number;
  readonly payload?: Uint8Array;
}

const EMPTY = new Uint8Array(0);

/**
 * Reads a datagram. The payload is a subarray of `datagram`: copy it if the datagram buffer is reused.
 * Throws `WireError` (`TRUNCATED`, `BAD_VERSION`, `TOO_LARGE`) and nothing else.
 */
export function decodeFragment(datagram: Uint8Array): Fragment {
  const length = datagram.length;
  if (length < FRAGMENT_HEADER_SIZE) {
    throw new WireError('TRUNCATED', `fragment of ${length} octets is shorter than its 8-octet header`);
  }
  if (length > MAX_DATAGRAM_SIZE) {
    throw new WireError('TOO_LARGE', `fragment of ${length} octets exceeds ${MAX_DATAGRAM_SIZE}`);
  }
  const word = readU16(datagram, 0);
  const version = word >>> 12;
  if (version !== XPP_VERSION) {
    throw new WireError('BAD_VERSION', `fragment version ${version}, expected ${XPP_VERSION}`);
  }
  return {
    version,
    flags: word & FLAG_MASK,
    seq: readU16(datagram, 2),
    localId: readU16(datagram, 4),
    remoteId: readU16(datagram, 6),
    payload: datagram.subarray(FRAGMENT_HEADER_SIZE),
  };
}

/** Octets {@link encodeFragment} writes for `fragment`. */
export function fragmentSize(fragment: FragmentInit): number {
  return FRAGMENT_HEADER_SIZE + (fragment.payload?.length ?? 0);
}

/**
 * Writes the 8-octet header at `target[offset]`; the payload (if any) is the caller's to place after it.
 * Reserved bits are sent as zero.
 */
export function encodeFragmentHeader(
  header: Omit<FragmentInit, 'payload'>,
  target: Uint8Array,
  offset = 0,
): void {
  const version = header.version ?? XPP_VERSION;
  checkUint(version, 15, 'version');
  checkUint(header.flags, FLAG_MASK, 'flags');
  checkUint(header.seq, 0xffff, 'seq');
  checkUint(header.localId, 0xffff, 'localId');
  checkUint(header.remoteId, 0xffff, 'remoteId');
  targetFor(FRAGMENT_HEADER_SIZE, target, offset, 'fragment header');
  writeU16(target, offset, (version << 12) | header.flags);
  writeU16(target, offset + 2, header.seq);
  writeU16(target, offset + 4, header.localId);
  writeU16(target, offset + 6, header.remoteId);
}

/**
 * Encodes a whole datagram into `target` at `offset` (checked for room) or, without a target, into a fresh view
 * of exactly the right size that may share its `ArrayBuffer` with other encodings (as {@link encodeMessage}).
 * Returns the view of the written octets.
 */
export function encodeFragment(fragment: FragmentInit, target?: Uint8Array, offset = 0): Uint8Array {
  const payload = fragment.payload ?? EMPTY;
  const size = FRAGMENT_HEADER_SIZE + payload.length;
  if (size > MAX_DATAGRAM_SIZE) {
    throw new WireError('TOO_LARGE', `fragment of ${size} octets exceeds ${MAX_DATAGRAM_SIZE}`);
  }
  const out = targetFor(size, target, offset, 'fragment');
  encodeFragmentHeader(fragment, out, offset);
  out.set(payload, offset + FRAGMENT_HEADER_SIZE);
  return out.subarray(offset, offset + size);
}

/** True when every bit of `flag` is set in `flags`. */
export function hasFlag(flags: number, flag: number): boolean {
  return (flags & flag) === flag;
}

/** Flags as an object of booleans, in spec order: the CLI's and logs' readable form. */
export function flagsToObject(flags: number): Record<Lowercase<FlagName>, boolean> {
  return {
    syn: (flags & Flag.SYN) !== 0,
    ack: (flags & Flag.ACK) !== 0,
    rel: (flags & Flag.REL) !== 0,
    lfr: (flags & Flag.LFR) !== 0,
    kpa: (flags & Flag.KPA) !== 0,
  };
}

/** The inverse of {@link flagsToObject}; absent names are false. */
export function flagsFromObject(flags: Partial<Record<Lowercase<FlagName>, boolean>>): number {
  return (
    (flags.syn ? Flag.SYN : 0) |
    (flags.ack ? Flag.ACK : 0) |
    (flags.rel ? Flag.REL : 0) |
    (flags.lfr ? Flag.LFR : 0) |
    (flags.kpa ? Flag.KPA : 0)
  );
}
