import { WireError, type ValueCodec } from '@xpp/wire';
import { checkSize, structCodec } from './internal/codec.js';
import { fromUtf8, utf8 } from './internal/bytes.js';

/** Octets of an offer's or answer's SDP in RELAY-CONNECT, at most (a description is well under 2 KiB). */
export const MAX_RELAYED_SDP_OCTETS = 8192;
/** Octets of a RELAY-CONNECT call id (it stands for the SIP Call-ID in the `a=xpp-auth` transcript). */
export const MAX_RELAY_CALL_ID_OCTETS = 64;

const RELAYED = 0x01;
const FORWARDED = 0x02;

/**
 * A session offer carried over the overlay's links (docs/decisions/dht-nat.md part 4): the offerer asks a common
 * neighbour, the relay, to hand it to `peer` and bring the answer back.
 */
export interface SessionOffer {
  /** The relay also forwards the session's datagrams (an allocation); otherwise only the offer and answer. */
  readonly relayed: boolean;
  /** Set by the relay when it hands the offer on: `peer` is then the offerer (as the relay's link authenticated it). */
  readonly forwarded: boolean;
  /** Stands for the SIP Call-ID in the `a=xpp-auth` transcript: 1–64 visible ASCII characters. */
  readonly callId: string;
  /** The offer's SDP (UTF-8, 1–8192 octets). */
  readonly sdp: string;
}

const CALL_ID = /^[\x21-\x7e]{1,64}$/;

function readSdp(bytes: Uint8Array, what: string): string {
  checkSize(bytes.length, 1, MAX_RELAYED_SDP_OCTETS, what, true);
  return fromUtf8(bytes, what);
}

/** u8 flags (bit 0 relayed, bit 1 forwarded; others 0), u8 length + call id (visible ASCII), then the SDP. */
export const sessionOfferCodec: ValueCodec<SessionOffer> = structCodec(
  'SESSION-OFFER',
  (w, v) => {
    if (!CALL_ID.test(v.callId))
      throw new WireError('INVALID_FIELD', 'SESSION-OFFER call id is not 1-64 visible ASCII characters');
    const sdp = utf8(v.sdp);
    checkSize(sdp.length, 1, MAX_RELAYED_SDP_OCTETS, 'SESSION-OFFER sdp', false);
    w.u8((v.relayed ? RELAYED : 0) | (v.forwarded ? FORWARDED : 0), 'flags')
      .text(v.callId, 1, 1, MAX_RELAY_CALL_ID_OCTETS, 'call id')
      .bytes(sdp);
  },
  (r) => {
    const flags = r.u8('flags');
    if ((flags & ~(RELAYED | FORWARDED)) !== 0)
      throw new WireError('BAD_VALUE', `SESSION-OFFER flags 0x${flags.toString(16)} are unknown`);
    const callId = r.text8('call id');
    if (!CALL_ID.test(callId))
      throw new WireError('BAD_VALUE', 'SESSION-OFFER call id is not 1-64 visible ASCII characters');
    return {
      relayed: (flags & RELAYED) !== 0,
      forwarded: (flags & FORWARDED) !== 0,
      callId,
      sdp: readSdp(r.rest(), 'SESSION-OFFER sdp'),
    };
  },
);

/** The answer's SDP (UTF-8, 1–8192 octets). */
export const sessionAnswerCodec: ValueCodec<string> = {
  encode(value) {
    const bytes = utf8(value);
    checkSize(bytes.length, 1, MAX_RELAYED_SDP_OCTETS, 'SESSION-ANSWER', false);
    return bytes;
  },
  decode: (bytes) => readSdp(bytes, 'SESSION-ANSWER'),
};
