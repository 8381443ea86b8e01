import { XPP_VERSION } from '@xpp/wire';

/** Writes the 8-octet fragment header (spec §2) of a datagram this channel builds from its own valid fields. */
export function writeHeader(
  out: Uint8Array,
  flags: number,
  seq: number,
  localId: number,
  remoteId: number,
): void {
  out[0] = XPP_VERSION << 4;
  out[1] = flags;
  out[2] = seq >>> 8;
  out[3] = seq & 0xff;
  out[4] = localId >>> 8;
  out[5] = localId & 0xff;
  out[6] = remoteId >>> 8;
  out[7] = remoteId & 0xff;
}
