import type { XppOption } from '@xpp/wire';
import {
  bindingCodec,
  createCredential,
  encodeCredential,
  importAdminPrivateKey,
  peerRecordCodec,
  signCredential,
  DhtOperation,
  DhtOption,
  RecordKind,
  encodeGet,
  encodePut,
  encodePutResponse,
  encodeRecords,
  encodeRemove,
  encodeRoute,
  decodeGet,
  decodePut,
  decodePutResponse,
  decodeRecords,
  decodeRemove,
  decodeRoute,
  type Binding,
  type NeighbourInfo,
} from '@xpp/dht';
import {
  encodeHandoff,
  encodeNeighbourUpdate,
  encodeTakeover,
  decodeHandoff,
  decodeNeighbourUpdate,
  decodeTakeover,
} from '../../src/messages.js';

// The inputs of the golden vectors (test/vectors.json). `scripts/vectors.ts` writes the file from them once;
// the test checks that today's code still produces and reads exactly those octets.

const b = (hex: string): Uint8Array => Uint8Array.from(Buffer.from(hex, 'hex'));

export const contact = {
  uri: 'sip:peer7@example.org',
  candidates: [
    { type: 'host', address: '192.0.2.7', port: 5060 },
    { type: 'srflx', address: '2001:db8::7', port: 40000 },
  ],
} as const;

export const neighbour: NeighbourInfo = { peerId: b('a1a2a3a4'), zones: [b('0280')], contact, version: 3 };

export const binding: Binding = {
  instanceId: '<urn:uuid:00000000-0000-1000-8000-000a95a0e128>',
  regId: 1,
  contact: 'sip:alice@192.0.2.10:5060',
  flowPeer: b('a1a2a3a4'),
};

/** One option vector: an option type, a value, and the octets of the option value. */
export interface OptionCase {
  readonly name: string;
  readonly option: {
    readonly type: number;
    readonly codec: { encode(v: never): Uint8Array; decode(b: Uint8Array): unknown };
  };
  readonly value: unknown;
}

export const optionCases: OptionCase[] = [
  { name: 'TARGET', option: DhtOption.TARGET, value: b('40000000c0000000') },
  { name: 'HOP-LIMIT', option: DhtOption.HOP_LIMIT, value: 64 },
  { name: 'ROUTED-OPERATION', option: DhtOption.ROUTED_OPERATION, value: 0x0102 },
  { name: 'KEY', option: DhtOption.KEY, value: 'sip:alice@example.org' },
  { name: 'KIND', option: DhtOption.KIND, value: RecordKind.BINDING },
  { name: 'VALUE', option: DhtOption.VALUE, value: b('0102') },
  { name: 'LIFETIME', option: DhtOption.LIFETIME, value: 3600 },
  {
    name: 'BINDING-ID',
    option: DhtOption.BINDING_ID,
    value: { instanceId: binding.instanceId, regId: 1, contact: binding.contact },
  },
  { name: 'RECORD', option: DhtOption.RECORD, value: { more: false, bytes: b('0100') } },
  { name: 'PEER-ID', option: DhtOption.PEER_ID, value: b('a1a2a3a4') },
  { name: 'CONTACT', option: DhtOption.CONTACT, value: contact },
  { name: 'ZONE', option: DhtOption.ZONE, value: b('0280') },
  { name: 'NEIGHBOUR', option: DhtOption.NEIGHBOUR, value: neighbour },
  { name: 'REPLICA', option: DhtOption.REPLICA, value: true },
];

/** One message vector: a typed body, how it maps to options and back, and the message it travels in. */
export interface MessageCase {
  readonly name: string;
  readonly type: number;
  readonly response: boolean;
  readonly body: unknown;
  readonly encode: (body: never) => XppOption[];
  readonly decode: (options: readonly XppOption[]) => unknown;
}

const get = { key: 'sip:alice@example.org', kind: RecordKind.BINDING };
const record = { kind: RecordKind.BINDING, key: 'sip:alice@example.org', value: b('00'), lifetime: 3599 };

export const messageCases: MessageCase[] = [
  {
    name: 'ROUTE(GET)',
    type: DhtOperation.ROUTE.type,
    response: false,
    body: {
      target: b('40000000c0000000'),
      hopLimit: 64,
      operation: DhtOperation.GET.type,
      inner: encodeGet(get),
    },
    encode: encodeRoute,
    decode: decodeRoute,
  },
  {
    name: 'PUT',
    type: DhtOperation.PUT.type,
    response: false,
    body: { key: 'sip:alice@example.org', kind: RecordKind.BINDING, lifetime: 3600, value: b('0102') },
    encode: encodePut,
    decode: decodePut,
  },
  {
    name: 'PUT to a replica',
    type: DhtOperation.PUT.type,
    response: false,
    body: { key: 'peer:a1a2a3a4', kind: RecordKind.PEER, lifetime: 60, replica: true, value: b('ff') },
    encode: encodePut,
    decode: decodePut,
  },
  {
    name: 'PUT response',
    type: DhtOperation.PUT.type,
    response: true,
    body: { lifetime: 3600 },
    encode: encodePutResponse,
    decode: decodePutResponse,
  },
  {
    name: 'GET',
    type: DhtOperation.GET.type,
    response: false,
    body: get,
    encode: encodeGet,
    decode: decodeGet,
  },
  {
    name: 'GET response',
    type: DhtOperation.GET.type,
    response: true,
    body: { records: [record] },
    encode: encodeRecords,
    decode: (o) => decodeRecords(o),
  },
  {
    name: 'REMOVE one binding',
    type: DhtOperation.REMOVE.type,
    response: false,
    body: { ...get, bindingId: { instanceId: binding.instanceId, regId: 1, contact: binding.contact } },
    encode: encodeRemove,
    decode: decodeRemove,
  },
  {
    name: 'JOIN',
    type: DhtOperation.JOIN.type,
    response: false,
    body: { zones: [b('0180')], neighbours: [neighbour], records: [record] },
    encode: encodeHandoff,
    decode: (o) => decodeHandoff(o),
  },
  {
    name: 'NEIGHBOUR-UPDATE',
    type: DhtOperation.NEIGHBOUR_UPDATE.type,
    response: false,
    body: { neighbours: [neighbour] },
    encode: encodeNeighbourUpdate,
    decode: decodeNeighbourUpdate,
  },
  {
    name: 'LEAVE',
    type: DhtOperation.LEAVE.type,
    response: false,
    body: { zones: [b('0280'), b('0300')], neighbours: [], records: [] },
    encode: encodeHandoff,
    decode: (o) => decodeHandoff(o),
  },
  {
    name: 'TAKEOVER',
    type: DhtOperation.TAKEOVER.type,
    response: false,
    body: { deadPeer: b('b1b2'), zones: [b('0280')] },
    encode: encodeTakeover,
    decode: decodeTakeover,
  },
];

/** RFC 8032 §7.1 test 1: the administrator key of the credential vector (Ed25519 signatures are deterministic). */
export const RFC8032_SEED = b('9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60');
export const RFC8032_PUBLIC = b('d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a');

/** One record-value vector: the value of a BINDING, CREDENTIAL or PEER record. */
export interface ValueCase {
  readonly name: string;
  readonly value: () => Uint8Array;
}

export const valueCases: ValueCase[] = [
  { name: 'BINDING', value: () => bindingCodec.encode(binding) },
  { name: 'PEER', value: () => peerRecordCodec.encode({ peerId: neighbour.peerId, contact }) },
  {
    name: 'CREDENTIAL (RFC 7616 user, RFC 8032 key)',
    value: () =>
      encodeCredential(
        signCredential(
          createCredential({
            aor: 'sip:Mufasa@example.org',
            realm: 'http-auth@example.org',
            password: 'Circle of Life',
            serial: 1,
          }),
          importAdminPrivateKey(RFC8032_SEED),
        ),
      ),
  },
];
