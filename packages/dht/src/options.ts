import { defaultRegistry, u16Codec, u32Codec, WireError, bytesCodec, type ValueCodec } from '@xpp/wire';
import { structCodec } from './internal/codec.js';
import { digestFieldsCodec, originCodec, verdictCodec } from './bind-values.js';
import { sessionAnswerCodec, sessionOfferCodec } from './relay-values.js';
import {
  bindingCodec,
  bindingIdCodec,
  contactCodec,
  keyCodec,
  kindCodec,
  neighbourCodec,
  peerIdCodec,
  opaquePointCodec,
  u8Codec,
  opaqueZoneCodec,
} from './values.js';

/** One piece of a record on the wire: records longer than one option continue in the next RECORD option. */
export interface RecordPiece {
  /** True when the record continues in the next RECORD option. */
  readonly more: boolean;
  readonly bytes: Uint8Array;
}

const MORE = 0x01;

/** u8 flags (bit 0: more pieces follow; other bits must be 0), then the piece. */
export const recordPieceCodec: ValueCodec<RecordPiece> = structCodec(
  'RECORD piece',
  (w, v) => w.u8(v.more ? MORE : 0, 'flags').bytes(v.bytes),
  (r) => {
    const flags = r.u8('flags');
    if ((flags & ~MORE) !== 0)
      throw new WireError('BAD_VALUE', `RECORD flags 0x${flags.toString(16)} are unknown`);
    return { more: flags === MORE, bytes: r.rest() };
  },
);

/** What a replica holder should hold of a zone: how many records, and their {@link recordSetDigest}. */
export interface ReplicaDigest {
  readonly records: number;
  /** 16 octets. */
  readonly digest: Uint8Array;
}

/** Octets of {@link ReplicaDigest.digest}. */
export const REPLICA_DIGEST_OCTETS = 16;

/** u32 count of records, then the 16-octet digest of the set. */
export const replicaDigestCodec: ValueCodec<ReplicaDigest> = structCodec(
  'DIGEST',
  (w, v) => {
    if (v.digest.length !== REPLICA_DIGEST_OCTETS)
      throw new WireError(
        'INVALID_FIELD',
        `DIGEST of ${v.digest.length} octets, not ${REPLICA_DIGEST_OCTETS}`,
      );
    w.u32(v.records, 'records').bytes(v.digest);
  },
  (r) => ({ records: r.u32('records'), digest: r.bytes(REPLICA_DIGEST_OCTETS, 'digest') }),
);

/** A presence flag: the value is empty. */
export const flagCodec: ValueCodec<true> = structCodec(
  'flag',
  () => undefined,
  () => true,
);

/** An operation type (15 bits, not 0) carried as a u16. */
export const operationTypeCodec: ValueCodec<number> = {
  encode(value) {
    if (value < 1 || value > 0x7fff)
      throw new WireError('INVALID_FIELD', `operation type ${value} is out of 1..0x7fff`);
    return u16Codec.encode(value);
  },
  decode(bytes) {
    const value = u16Codec.decode(bytes);
    if (value < 1 || value > 0x7fff)
      throw new WireError('BAD_VALUE', `operation type ${value} is out of 1..0x7fff`);
    return value;
  },
};

/**
 * XPP-PCAN option types (0x0100–0x3FFF, like the operations), registered in `defaultRegistry` with their
 * typed codecs. Layouts: docs/decisions/dht-operation-codes.md.
 */
export const DhtOption = {
  /** ROUTE: the point whose owner the inner request is for (encoded by `@xpp/can`). */
  TARGET: defaultRegistry.defineOption({ type: 0x0100, name: 'TARGET', codec: opaquePointCodec }),
  /** ROUTE: hops left, one octet. */
  HOP_LIMIT: defaultRegistry.defineOption({ type: 0x0101, name: 'HOP-LIMIT', codec: u8Codec }),
  /** ROUTE: the operation type of the inner request, whose options follow the ROUTE's own. */
  ROUTED_OPERATION: defaultRegistry.defineOption({
    type: 0x0102,
    name: 'ROUTED-OPERATION',
    codec: operationTypeCodec,
  }),
  KEY: defaultRegistry.defineOption({ type: 0x0103, name: 'KEY', codec: keyCodec }),
  KIND: defaultRegistry.defineOption({ type: 0x0104, name: 'KIND', codec: kindCodec }),
  /** A record value; repeated, the pieces concatenate (a value may exceed one option's 65535 octets). */
  VALUE: defaultRegistry.defineOption({ type: 0x0105, name: 'VALUE', codec: bytesCodec, repeatable: true }),
  /** Seconds: requested in PUT, granted in its response. */
  LIFETIME: defaultRegistry.defineOption({ type: 0x0106, name: 'LIFETIME', codec: u32Codec }),
  /** REMOVE of one binding of an AOR. */
  BINDING_ID: defaultRegistry.defineOption({ type: 0x0107, name: 'BINDING-ID', codec: bindingIdCodec }),
  /** One piece of a record (GET response, JOIN, LEAVE, replication); see {@link RecordPiece}. */
  RECORD: defaultRegistry.defineOption({
    type: 0x0108,
    name: 'RECORD',
    codec: recordPieceCodec,
    repeatable: true,
  }),
  PEER_ID: defaultRegistry.defineOption({ type: 0x0109, name: 'PEER-ID', codec: peerIdCodec }),
  CONTACT: defaultRegistry.defineOption({ type: 0x010a, name: 'CONTACT', codec: contactCodec }),
  /** An encoded zone (`@xpp/can`). */
  ZONE: defaultRegistry.defineOption({
    type: 0x010b,
    name: 'ZONE',
    codec: opaqueZoneCodec,
    repeatable: true,
  }),
  /** A peer with its zones and contact (JOIN, LEAVE, NEIGHBOUR-UPDATE). */
  NEIGHBOUR: defaultRegistry.defineOption({
    type: 0x010c,
    name: 'NEIGHBOUR',
    codec: neighbourCodec,
    repeatable: true,
  }),
  /** PUT / REMOVE sent directly to a replica holder rather than routed to the owner. */
  REPLICA: defaultRegistry.defineOption({ type: 0x010d, name: 'REPLICA', codec: flagCodec }),
  /**
   * NEIGHBOUR-UPDATE: the list is a delta of the sender's neighbour list, to merge with what it announced before
   * (docs/decisions/dht-announcements.md); without it the list replaces the sender's previous one.
   */
  PARTIAL: defaultRegistry.defineOption({ type: 0x010e, name: 'PARTIAL', codec: flagCodec }),
  /**
   * LEAVE: only records change hands, of zones the receiver owns already — given back after a double ownership,
   * or replicas of a dead zone its taker may lack (docs/decisions/dht-double-ownership.md). Without it a LEAVE
   * hands its zones over.
   */
  RETURN: defaultRegistry.defineOption({ type: 0x010f, name: 'RETURN', codec: flagCodec }),
  /**
   * REPLICATE: a check, not a change — what the holder should hold of the request's zones. It answers 409 when its
   * replicas differ, and the owner sends the zone again (docs/decisions/dht-replication.md).
   */
  DIGEST: defaultRegistry.defineOption({ type: 0x0110, name: 'DIGEST', codec: replicaDigestCodec }),
  /**
   * The peer a routed write comes from, as its node's origin authority made it (with membership: certificate and
   * Ed25519 signature over the request, spec §5.6); the owner attributes the write to the peer it names.
   */
  ORIGIN: defaultRegistry.defineOption({ type: 0x0111, name: 'ORIGIN', codec: originCodec }),
  /** REGISTER-BIND / AUTHORIZE: a client's digest response fields and the request method (RFC 7616 §3.4). */
  DIGEST_RESPONSE: defaultRegistry.defineOption({
    type: 0x0112,
    name: 'DIGEST-RESPONSE',
    codec: digestFieldsCodec,
  }),
  /** REGISTER-BIND: the binding to store (its flow peer must be the origin). */
  BINDING: defaultRegistry.defineOption({ type: 0x0113, name: 'BINDING', codec: bindingCodec }),
  /** REGISTER-BIND / AUTHORIZE response: u8 0 ok, 1 unknown user, 2 wrong response. */
  VERDICT: defaultRegistry.defineOption({ type: 0x0114, name: 'VERDICT', codec: verdictCodec }),
  /** RELAY-CONNECT: a session offer carried over the overlay's links (docs/decisions/dht-nat.md part 4). */
  SESSION_OFFER: defaultRegistry.defineOption({
    type: 0x0117,
    name: 'SESSION-OFFER',
    codec: sessionOfferCodec,
  }),
  /** RELAY-CONNECT response: the answer's SDP. */
  SESSION_ANSWER: defaultRegistry.defineOption({
    type: 0x0118,
    name: 'SESSION-ANSWER',
    codec: sessionAnswerCodec,
  }),
} as const;
