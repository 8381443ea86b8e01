import { isIP } from 'node:net';
import { WireError, type ValueCodec } from '@xpp/wire';
import { checkUint, fromUtf8, utf8, type ByteReader, type ByteWriter } from './internal/bytes.js';
import { boundedBytesCodec, checkSize, structCodec } from './internal/codec.js';
import { isRecordKind, type RecordKind } from './kinds.js';
import {
  MAX_CANDIDATES,
  MAX_KEY_SIZE,
  MAX_PEER_ID_SIZE,
  MAX_POINT_SIZE,
  MIN_POINT_SIZE,
  MAX_URI_SIZE,
  MAX_ZONE_SIZE,
  MAX_ZONES_PER_PEER,
  MIN_PEER_ID_SIZE,
} from './limits.js';

/** How a peer may be reached at an address (ICE-like candidate types). */
export type CandidateType = 'host' | 'srflx' | 'relay';
const CANDIDATE_TYPES: readonly CandidateType[] = ['host', 'srflx', 'relay'];

/** One transport address of a peer. `address` is a textual IPv4 or IPv6 address. */
export interface AddressCandidate {
  readonly type: CandidateType;
  readonly address: string;
  readonly port: number;
}

/** How to reach a peer: its SIP URI (for the INVITE that opens an XPP session) and its address candidates. */
export interface Contact {
  readonly uri: string;
  readonly candidates: readonly AddressCandidate[];
}

/** A peer as announced to neighbours: id, the zone(s) it owns, contact, and a version that orders its announcements. */
export interface NeighbourInfo {
  readonly peerId: Uint8Array;
  /** Encoded zones (`@xpp/can`); empty when the peer announces that it owns nothing any more. */
  readonly zones: readonly Uint8Array[];
  readonly contact: Contact;
  /** Raised by the peer at each change of its zones; a receiver ignores an announcement older than one it has. */
  readonly version: number;
}

/** The value of a PEER record. */
export interface PeerRecord {
  readonly peerId: Uint8Array;
  readonly contact: Contact;
}

/**
 * One SIP contact binding of an AOR (spec §4). A binding is identified by instance id + reg-id (RFC 5626) or,
 * for a client without SIP Outbound (empty `instanceId`), by its contact URI.
 */
export interface Binding {
  /** `+sip.instance` of the registering UA, or empty. */
  readonly instanceId: string;
  /** RFC 5626 reg-id, 0 when absent. */
  readonly regId: number;
  /** The Contact URI. */
  readonly contact: string;
  /** Peer id of the peer that holds the client's Outbound flow (where requests for it are forwarded). */
  readonly flowPeer: Uint8Array;
  /**
   * The contact's `q` (RFC 3261 §20.10), 0 to 1 in steps of 0.001: the order in which a proxy forks to the contacts
   * of the AOR. Absent when the client gave none.
   */
  readonly q?: number;
}

/** What identifies a binding within an AOR (REMOVE of one binding). */
export type BindingId = Pick<Binding, 'instanceId' | 'regId' | 'contact'>;

/** A record as handed between peers (GET responses, JOIN, LEAVE, replication). */
export interface WireRecord {
  readonly kind: RecordKind;
  readonly key: string;
  readonly value: Uint8Array;
  /** Seconds it has left to live (clocks are not shared, so never an absolute time). */
  readonly lifetime: number;
}

function writeText(w: ByteWriter, text: string, max: number, field: string, allowEmpty: boolean): void {
  w.text(text, 2, allowEmpty ? 0 : 1, max, field);
}

function readText(r: ByteReader, max: number, field: string, allowEmpty: boolean): string {
  const bytes = r.bytes16(field);
  checkSize(bytes.length, allowEmpty ? 0 : 1, max, field, true);
  return fromUtf8(bytes, field);
}

function writeCandidate(w: ByteWriter, c: AddressCandidate): void {
  const type = CANDIDATE_TYPES.indexOf(c.type);
  if (type < 0 || isIP(c.address) === 0) {
    throw new WireError('INVALID_FIELD', `candidate ${c.type} ${c.address} is not a typed IP address`);
  }
  w.u8(type, 'candidate type').text(c.address, 1, 1, 0xff, 'candidate address').u16(c.port, 'candidate port');
}

function readCandidate(r: ByteReader): AddressCandidate {
  const type = CANDIDATE_TYPES[r.u8('candidate type')];
  const address = r.text8('candidate address');
  const port = r.u16('candidate port');
  if (type === undefined) throw new WireError('BAD_VALUE', 'candidate type is unknown');
  if (isIP(address) === 0)
    throw new WireError('BAD_VALUE', `candidate address ${JSON.stringify(address)} is not an IP`);
  return { type, address, port };
}

function writeContact(w: ByteWriter, contact: Contact): void {
  writeText(w, contact.uri, MAX_URI_SIZE, 'contact URI', false);
  checkSize(contact.candidates.length, 0, MAX_CANDIDATES, 'candidate count', false);
  w.u8(contact.candidates.length, 'candidate count');
  for (const c of contact.candidates) writeCandidate(w, c);
}

function readContact(r: ByteReader): Contact {
  const uri = readText(r, MAX_URI_SIZE, 'contact URI', false);
  const count = r.u8('candidate count');
  checkSize(count, 0, MAX_CANDIDATES, 'candidate count', true);
  const candidates: AddressCandidate[] = [];
  for (let i = 0; i < count; i++) candidates.push(readCandidate(r));
  return { uri, candidates };
}

function writePeerId(w: ByteWriter, peerId: Uint8Array, field: string): void {
  checkSize(peerId.length, MIN_PEER_ID_SIZE, MAX_PEER_ID_SIZE, field, false);
  w.bytes8(peerId, field);
}

function readPeerId(r: ByteReader, field: string): Uint8Array {
  const id = r.bytes8(field);
  checkSize(id.length, MIN_PEER_ID_SIZE, MAX_PEER_ID_SIZE, field, true);
  return id;
}

/** One octet. */
export const u8Codec: ValueCodec<number> = {
  encode(value) {
    checkUint(value, 0xff, 'u8');
    return Uint8Array.of(value);
  },
  decode(bytes) {
    if (bytes.length !== 1)
      throw new WireError('LENGTH_MISMATCH', `u8 value must be 1 octet, got ${bytes.length}`);
    return bytes[0] as number;
  },
};

/** A record kind: one octet, BINDING / CREDENTIAL / PEER; any other octet is `BAD_VALUE`. */
export const kindCodec: ValueCodec<RecordKind> = {
  encode(value) {
    if (!isRecordKind(value)) throw new WireError('INVALID_FIELD', `record kind ${String(value)} is unknown`);
    return Uint8Array.of(value);
  },
  decode(bytes) {
    const kind = u8Codec.decode(bytes);
    if (!isRecordKind(kind)) throw new WireError('BAD_VALUE', `record kind ${kind} is unknown`);
    return kind;
  },
};

/** A record key: non-empty UTF-8 of at most {@link MAX_KEY_SIZE} octets. */
export const keyCodec: ValueCodec<string> = {
  encode(value) {
    const bytes = utf8(value);
    checkSize(bytes.length, 1, MAX_KEY_SIZE, 'key', false);
    return bytes;
  },
  decode(bytes) {
    checkSize(bytes.length, 1, MAX_KEY_SIZE, 'key', true);
    return fromUtf8(bytes, 'key');
  },
};

export const peerIdCodec: ValueCodec<Uint8Array> = boundedBytesCodec(
  'PEER-ID',
  MIN_PEER_ID_SIZE,
  MAX_PEER_ID_SIZE,
);
export const opaquePointCodec: ValueCodec<Uint8Array> = boundedBytesCodec(
  'TARGET point',
  MIN_POINT_SIZE,
  MAX_POINT_SIZE,
);
export const opaqueZoneCodec: ValueCodec<Uint8Array> = boundedBytesCodec('ZONE', 1, MAX_ZONE_SIZE);

/** u16 URI length, URI, u8 candidate count, then per candidate: u8 type, u8 length + address text, u16 port. */
export const contactCodec: ValueCodec<Contact> = structCodec('CONTACT', writeContact, readContact);

/** u8 length + peer id, then a contact. */
export const peerRecordCodec: ValueCodec<PeerRecord> = structCodec(
  'PEER record',
  (w, v) => {
    writePeerId(w, v.peerId, 'peer id');
    writeContact(w, v.contact);
  },
  (r) => ({ peerId: readPeerId(r, 'peer id'), contact: readContact(r) }),
);

/** u8 length + peer id, u32 version, u8 zone count, per zone u8 length + zone, then a contact. */
export const neighbourCodec: ValueCodec<NeighbourInfo> = structCodec(
  'NEIGHBOUR',
  (w, v) => {
    writePeerId(w, v.peerId, 'peer id');
    w.u32(v.version, 'version');
    checkSize(v.zones.length, 0, MAX_ZONES_PER_PEER, 'zone count', false);
    w.u8(v.zones.length, 'zone count');
    for (const zone of v.zones) {
      checkSize(zone.length, 1, MAX_ZONE_SIZE, 'zone', false);
      w.bytes8(zone, 'zone');
    }
    writeContact(w, v.contact);
  },
  (r) => {
    const peerId = readPeerId(r, 'peer id');
    const version = r.u32('version');
    const count = r.u8('zone count');
    checkSize(count, 0, MAX_ZONES_PER_PEER, 'zone count', true);
    const zones: Uint8Array[] = [];
    for (let i = 0; i < count; i++) {
      const zone = r.bytes8('zone');
      checkSize(zone.length, 1, MAX_ZONE_SIZE, 'zone', true);
      zones.push(zone);
    }
    return { peerId, version, zones, contact: readContact(r) };
  },
);

function writeBindingId(w: ByteWriter, v: BindingId): void {
  writeText(w, v.instanceId, MAX_URI_SIZE, 'instance id', true);
  w.u32(v.regId, 'reg-id');
  writeText(w, v.contact, MAX_URI_SIZE, 'contact', false);
}

function readBindingId(r: ByteReader): BindingId {
  const instanceId = readText(r, MAX_URI_SIZE, 'instance id', true);
  const regId = r.u32('reg-id');
  const contact = readText(r, MAX_URI_SIZE, 'contact', false);
  return { instanceId, regId, contact };
}

/** u16 length + instance id (may be empty), u32 reg-id, u16 length + contact URI. */
export const bindingIdCodec: ValueCodec<BindingId> = structCodec('BINDING-ID', writeBindingId, readBindingId);

/** Largest `q` in thousandths (q = 1). */
const MAX_Q_MILLI = 1000;

/**
 * A binding id, then u8 length + the flow peer's id, then — only when the binding has a q-value — u16 q in
 * thousandths. The value of a BINDING record. A binding without q is encoded as before q existed, so peers that
 * predate it read it.
 */
export const bindingCodec: ValueCodec<Binding> = structCodec(
  'BINDING',
  (w, v) => {
    writeBindingId(w, v);
    writePeerId(w, v.flowPeer, 'flow peer');
    if (v.q !== undefined) {
      const milli = Math.round(v.q * MAX_Q_MILLI);
      checkSize(Number.isFinite(milli) ? milli : -1, 0, MAX_Q_MILLI, 'q', false);
      w.u16(milli, 'q');
    }
  },
  (r) => {
    const { instanceId, regId, contact } = readBindingId(r);
    const flowPeer = readPeerId(r, 'flow peer');
    if (r.remaining === 0) return { instanceId, regId, contact, flowPeer };
    const milli = r.u16('q');
    checkSize(milli, 0, MAX_Q_MILLI, 'q', true);
    return { instanceId, regId, contact, flowPeer, q: milli / MAX_Q_MILLI };
  },
);

/** The identity of a binding within its AOR: instance id + reg-id, or the contact URI without Outbound. */
export function bindingSubkey(id: BindingId): string {
  return id.instanceId === '' ? `contact ${id.contact}` : `instance ${id.instanceId} ${id.regId}`;
}
