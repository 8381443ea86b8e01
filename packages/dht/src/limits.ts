/** Wire-level bounds of the XPP-PCAN option values (docs/decisions/dht-operation-codes.md). */

/** Octets of a peer id (opaque, compared as unsigned octet strings: the lower wins routing ties). */
export const MIN_PEER_ID_SIZE = 1;
export const MAX_PEER_ID_SIZE = 32;
/**
 * Octets of an encoded point or zone: opaque here (their codecs in `@xpp/can` depend on the overlay's d), bounded
 * as `@xpp/can` encodes them (docs/decisions/can-encodings.md): a point is 4·d octets, a zone 1 + ⌈depth/8⌉.
 */
export const MIN_POINT_SIZE = 4;
export const MAX_POINT_SIZE = 32;
export const MAX_ZONE_SIZE = 33;
/**
 * Zones one neighbour may announce: one, two during a takeover (spec §2). Leaves and crashes in a row can pile more
 * on one taker until background merges undo them, so the bound has room (docs/decisions/dht-zone-count.md).
 */
export const MAX_ZONES_PER_PEER = 16;
/** Address candidates in one contact. */
export const MAX_CANDIDATES = 8;
/** Octets of a URI (a contact's SIP URI, a binding's contact) or of an instance id. */
export const MAX_URI_SIZE = 1024;
/** Octets of a record key on the wire (a store may bound keys tighter). */
export const MAX_KEY_SIZE = 1024;
/** Default ROUTE hop limit (spec §3). */
export const DEFAULT_HOP_LIMIT = 64;
/** Largest hop limit the one-octet HOP-LIMIT option carries. */
export const MAX_HOP_LIMIT = 255;
