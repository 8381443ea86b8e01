import fc from 'fast-check';
import {
  RecordKind,
  type AddressCandidate,
  type Binding,
  type Contact,
  type NeighbourInfo,
  type WireRecord,
} from '@xpp/dht';

export const bytes = (min: number, max: number): fc.Arbitrary<Uint8Array> =>
  fc.uint8Array({ minLength: min, maxLength: max });

/** Text of whole code points whose UTF-8 fits `maxOctets` (4 octets per code point at worst). */
export const text = (maxOctets: number, min = 1): fc.Arbitrary<string> =>
  fc.string({ unit: 'binary', minLength: min, maxLength: Math.floor(maxOctets / 4) });

export const kind = fc.constantFrom(
  RecordKind.BINDING,
  RecordKind.CREDENTIAL,
  RecordKind.PEER,
  RecordKind.REVOCATION,
);
export const peerId = bytes(1, 32);
export const zone = bytes(1, 33);

export const candidate: fc.Arbitrary<AddressCandidate> = fc.record({
  type: fc.constantFrom('host', 'srflx', 'relay'),
  address: fc.oneof(fc.ipV4(), fc.ipV6()),
  port: fc.integer({ min: 0, max: 0xffff }),
});

export const contact: fc.Arbitrary<Contact> = fc.record({
  uri: text(200),
  candidates: fc.array(candidate, { maxLength: 8 }),
});

export const neighbour: fc.Arbitrary<NeighbourInfo> = fc.record({
  peerId,
  zones: fc.array(zone, { maxLength: 4 }),
  contact,
  version: fc.nat({ max: 0xffffffff }),
});

export const binding: fc.Arbitrary<Binding> = fc.record(
  {
    instanceId: text(200, 0),
    regId: fc.nat({ max: 0xffffffff }),
    contact: text(200),
    flowPeer: peerId,
    // In thousandths, as the codec carries it.
    q: fc.integer({ min: 0, max: 1000 }).map((milli) => milli / 1000),
  },
  { requiredKeys: ['instanceId', 'regId', 'contact', 'flowPeer'] },
);

export const wireRecord: fc.Arbitrary<WireRecord> = fc.record({
  kind,
  key: text(200),
  value: bytes(0, 300),
  lifetime: fc.nat({ max: 0xffffffff }),
});

/** A client's digest response fields: six required (non-empty), four optional (absent, never empty). */
export const digestFields = fc.record(
  {
    username: text(1024),
    realm: text(1024),
    nonce: text(1024),
    uri: text(1024),
    response: text(1024),
    method: text(1024),
    algorithm: text(1024),
    qop: text(1024),
    nc: text(1024),
    cnonce: text(1024),
  },
  { requiredKeys: ['username', 'realm', 'nonce', 'uri', 'response', 'method'] },
);
