import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { WireError, type ValueCodec } from '@xpp/wire';
import {
  bindingCodec,
  bindingIdCodec,
  contactCodec,
  DhtOption,
  digestFieldsCodec,
  originCodec,
  peerRecordCodec,
  verdictCodec,
} from '@xpp/dht';
import { flagCodec, operationTypeCodec, recordPieceCodec, replicaDigestCodec } from '../src/options.js';
import {
  keyCodec,
  kindCodec,
  neighbourCodec,
  peerIdCodec,
  opaquePointCodec,
  u8Codec,
  opaqueZoneCodec,
} from '../src/values.js';
import * as arb from './support/arbitraries.js';

/** Decoding untrusted octets returns a value or throws a WireError, nothing else. */
function decodesOrWireError<T>(codec: ValueCodec<T>, input: Uint8Array): void {
  try {
    codec.decode(input);
  } catch (error) {
    expect(WireError.is(error), String(error)).toBe(true);
  }
}

const cases: [string, ValueCodec<never>, fc.Arbitrary<unknown>][] = [
  ['u8', u8Codec, fc.integer({ min: 0, max: 255 })],
  ['KIND', kindCodec, arb.kind],
  ['KEY', keyCodec, arb.text(1024)],
  ['PEER-ID', peerIdCodec, arb.peerId],
  ['TARGET', opaquePointCodec, arb.bytes(4, 32)],
  ['ZONE', opaqueZoneCodec, arb.zone],
  ['CONTACT', contactCodec, arb.contact],
  ['NEIGHBOUR', neighbourCodec, arb.neighbour],
  ['PEER record', peerRecordCodec, fc.record({ peerId: arb.peerId, contact: arb.contact })],
  ['BINDING', bindingCodec, arb.binding],
  [
    'BINDING-ID',
    bindingIdCodec,
    arb.binding.map(({ instanceId, regId, contact }) => ({ instanceId, regId, contact })),
  ],
  ['RECORD piece', recordPieceCodec, fc.record({ more: fc.boolean(), bytes: arb.bytes(0, 300) })],
  ['flag', flagCodec, fc.constant(true)],
  [
    'DIGEST',
    replicaDigestCodec,
    fc.record({ records: fc.nat({ max: 0xffffffff }), digest: arb.bytes(16, 16) }),
  ],
  ['operation type', operationTypeCodec, fc.integer({ min: 1, max: 0x7fff })],
  ['ORIGIN', originCodec, arb.bytes(1, 2048)],
  ['VERDICT', verdictCodec, fc.constantFrom('ok', 'unknown-user', 'wrong-response')],
  ['DIGEST-RESPONSE', digestFieldsCodec, arb.digestFields],
] as unknown as [string, ValueCodec<never>, fc.Arbitrary<unknown>][];

describe.each(cases)('%s codec', (_name, codec, values) => {
  it('round-trips every valid value', () => {
    fc.assert(
      fc.property(values, (value) => {
        const encoded = codec.encode(value as never);
        expect(codec.decode(encoded)).toEqual(value);
        // One value, one encoding.
        expect(codec.encode(codec.decode(encoded))).toEqual(encoded);
      }),
    );
  });

  it('meets random octets with a value or a WireError', () => {
    fc.assert(fc.property(arb.bytes(0, 400), (input) => decodesOrWireError(codec, input)));
  });

  it('meets every truncation of a valid value with a value or a WireError', () => {
    fc.assert(
      fc.property(values, fc.nat(), (value, cut) => {
        const encoded = codec.encode(value as never);
        decodesOrWireError(codec, encoded.subarray(0, cut % (encoded.length + 1)));
      }),
    );
  });
});

describe('option values refuse what they must', () => {
  it('refuses unknown kinds, empty keys, oversized ids and non-IP candidates', () => {
    const refused = (codec: ValueCodec<unknown>, hex: string): string => {
      try {
        codec.decode(Buffer.from(hex, 'hex'));
      } catch (error) {
        if (WireError.is(error)) return error.code;
      }
      return 'accepted';
    };
    expect(refused(kindCodec, '05')).toBe('BAD_VALUE');
    expect(refused(kindCodec, '0101')).toBe('LENGTH_MISMATCH');
    expect(refused(keyCodec, '')).toBe('BAD_VALUE');
    expect(refused(keyCodec, 'ff')).toBe('BAD_VALUE');
    expect(refused(peerIdCodec, '00'.repeat(33))).toBe('BAD_VALUE');
    // contact: uri "a", 1 candidate, type host, address "x", port 0
    expect(refused(contactCodec, '00016101' + '00' + '0178' + '0000')).toBe('BAD_VALUE');
    // contact: 9 candidates announced
    expect(refused(contactCodec, '0001610' + '9')).toBe('BAD_VALUE');
    expect(refused(recordPieceCodec, '02')).toBe('BAD_VALUE');
    expect(refused(flagCodec, '00')).toBe('LENGTH_MISMATCH');
    // DIGEST: a count and 15 or 17 octets of digest
    expect(refused(replicaDigestCodec, '00000001' + '00'.repeat(15))).not.toBe('accepted');
    expect(refused(replicaDigestCodec, '00000001' + '00'.repeat(17))).not.toBe('accepted');
    expect(refused(operationTypeCodec, '0000')).toBe('BAD_VALUE');
    expect(refused(operationTypeCodec, '8001')).toBe('BAD_VALUE');
  });

  it('refuses to encode what it would refuse to decode', () => {
    expect(() => kindCodec.encode(9 as never)).toThrow(WireError);
    expect(() => peerIdCodec.encode(new Uint8Array(0))).toThrow(WireError);
    expect(() =>
      contactCodec.encode({
        uri: 'sip:a@b',
        candidates: [{ type: 'host', address: 'example.com', port: 1 }],
      }),
    ).toThrow(WireError);
    expect(() => keyCodec.encode('x'.repeat(1025))).toThrow(WireError);
    expect(() => u8Codec.encode(256)).toThrow(WireError);
  });

  it('registers every PCAN option in 0x0100–0x3FFF once', () => {
    const types = Object.values(DhtOption).map((o) => o.type);
    expect(new Set(types).size).toBe(types.length);
    for (const type of types) expect(type >= 0x0100 && type <= 0x3fff).toBe(true);
  });
});

describe('BINDING q-value', () => {
  const base = { instanceId: '', regId: 0, contact: 'sip:a@127.0.0.1', flowPeer: new Uint8Array(16) };

  it('a binding without q encodes as before q existed (older peers read it)', () => {
    const bytes = bindingCodec.encode(base);
    expect(bindingCodec.decode(bytes)).toEqual(base);
    expect(bindingCodec.encode({ ...base, q: 0.5 }).length).toBe(bytes.length + 2);
  });

  it('refuses a q above 1 or below 0, either way', () => {
    expect(() => bindingCodec.encode({ ...base, q: 1.5 })).toThrow();
    expect(() => bindingCodec.encode({ ...base, q: -0.1 })).toThrow();
    const bytes = bindingCodec.encode({ ...base, q: 1 });
    bytes[bytes.length - 1] = 0xe9; // 1001
    expect(() => bindingCodec.decode(bytes)).toThrow();
  });
});
