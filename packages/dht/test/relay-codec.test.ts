import fc from 'fast-check';
import { fromHex, toHex, WireError, type XppOption } from '@xpp/wire';
import { describe, expect, it } from 'vitest';
import {
  decodeRelayConnect,
  decodeRelayConnectResponse,
  DhtOption,
  encodeRelayConnect,
  encodeRelayConnectResponse,
  MAX_RELAYED_SDP_OCTETS,
  sessionAnswerCodec,
  sessionOfferCodec,
  type SessionOffer,
} from '@xpp/dht';

// RELAY-CONNECT (0x010C) = PEER-ID (0x0109), SESSION-OFFER (0x0117); response SESSION-ANSWER (0x0118).
// docs/decisions/dht-operation-codes.md gives the layouts these vectors pin.
const OFFER: SessionOffer = { relayed: true, forwarded: false, callId: 'c1', sdp: 'v=0\r\n' };
const VECTORS = {
  offer: '01026331763d300d0a',
  forwarded: '02026331763d300d0a',
  answer: '763d300d0a',
};

const callIdArb = fc.stringMatching(/^[\x21-\x7e]{1,64}$/);
const offerArb: fc.Arbitrary<SessionOffer> = fc.record({
  relayed: fc.boolean(),
  forwarded: fc.boolean(),
  callId: callIdArb,
  sdp: fc.string({ minLength: 1, maxLength: 600, unit: 'grapheme' }),
});

/** A decoder's verdict on untrusted octets: a value, or a WireError — never anything else. */
function valueOrWireError(decode: () => unknown): boolean {
  try {
    decode();
    return true;
  } catch (error) {
    return WireError.is(error);
  }
}

describe('RELAY-CONNECT codecs', () => {
  it('encode the vectors', () => {
    expect(toHex(sessionOfferCodec.encode(OFFER))).toBe(VECTORS.offer);
    expect(toHex(sessionOfferCodec.encode({ ...OFFER, relayed: false, forwarded: true }))).toBe(
      VECTORS.forwarded,
    );
    expect(toHex(sessionAnswerCodec.encode('v=0\r\n'))).toBe(VECTORS.answer);
    const options = encodeRelayConnect({ peer: new Uint8Array(16).fill(0xab), offer: OFFER });
    expect(options.map((o) => [o.type, toHex(o.value)])).toEqual([
      [0x0109, 'ab'.repeat(16)],
      [0x0117, VECTORS.offer],
    ]);
    expect(encodeRelayConnectResponse('v=0\r\n').map((o) => [o.type, toHex(o.value)])).toEqual([
      [0x0118, VECTORS.answer],
    ]);
  });

  it('decode the vectors, and refuse malformed values with WireError', () => {
    expect(sessionOfferCodec.decode(fromHex(VECTORS.offer))).toEqual(OFFER);
    expect(sessionOfferCodec.decode(fromHex(VECTORS.forwarded))).toEqual({
      ...OFFER,
      relayed: false,
      forwarded: true,
    });
    const code = (hex: string) => {
      try {
        sessionOfferCodec.decode(fromHex(hex));
        return 'decoded';
      } catch (error) {
        return WireError.is(error) ? error.code : 'other';
      }
    };
    expect(code('04026331763d300d0a')).toBe('BAD_VALUE'); // unknown flag
    expect(code('0100763d300d0a')).toBe('BAD_VALUE'); // empty call id
    expect(code('010263207630')).toBe('BAD_VALUE'); // a space in the call id
    expect(code('01026331')).toBe('BAD_VALUE'); // no SDP
    expect(code('010a6331')).toBe('TRUNCATED'); // call id runs past the end
    expect(code('01026331ff')).toBe('BAD_VALUE'); // SDP not UTF-8
    expect(() => sessionAnswerCodec.decode(new Uint8Array(MAX_RELAYED_SDP_OCTETS + 1).fill(0x61))).toThrow(
      WireError,
    );
    expect(() => sessionOfferCodec.encode({ ...OFFER, callId: 'x'.repeat(65) })).toThrow(WireError);
    expect(() => decodeRelayConnect([DhtOption.PEER_ID.option(new Uint8Array(16), true)])).toThrow(
      expect.objectContaining({ code: 'MISSING_OPTION' }),
    );
    const twice = encodeRelayConnect({ peer: new Uint8Array(16), offer: OFFER });
    expect(() => decodeRelayConnect([...twice, twice[1] as XppOption])).toThrow(
      expect.objectContaining({ code: 'BAD_VALUE' }),
    );
  });

  it('round-trip every valid offer and request (property)', () => {
    fc.assert(
      fc.property(offerArb, fc.uint8Array({ minLength: 16, maxLength: 16 }), (offer, peer) => {
        expect(sessionOfferCodec.decode(sessionOfferCodec.encode(offer))).toEqual(offer);
        const request = decodeRelayConnect(encodeRelayConnect({ peer, offer }));
        expect(request.offer).toEqual(offer);
        expect([...request.peer]).toEqual([...peer]);
        expect(decodeRelayConnectResponse(encodeRelayConnectResponse(offer.sdp))).toBe(offer.sdp);
      }),
      { numRuns: 500 },
    );
  });

  it('meet any octets, and any mutation of a valid value, with a value or a WireError (property)', () => {
    const mutated = fc
      .tuple(offerArb, fc.nat(), fc.integer({ min: 0, max: 255 }), fc.nat({ max: 8 }))
      .map(([offer, at, octet, cut]) => {
        const bytes = sessionOfferCodec.encode(offer).slice();
        bytes[at % bytes.length] = octet;
        return bytes.subarray(0, Math.max(0, bytes.length - cut));
      });
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 200 }), mutated), (bytes) => {
        expect(valueOrWireError(() => sessionOfferCodec.decode(bytes))).toBe(true);
        expect(valueOrWireError(() => sessionAnswerCodec.decode(bytes))).toBe(true);
        const options: XppOption[] = [
          { type: DhtOption.PEER_ID.type, value: bytes, mandatory: true } as XppOption,
          { type: DhtOption.SESSION_OFFER.type, value: bytes, mandatory: true } as XppOption,
        ];
        expect(valueOrWireError(() => decodeRelayConnect(options))).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });
});
