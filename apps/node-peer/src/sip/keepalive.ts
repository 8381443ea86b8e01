import {
  StunType,
  decodeStunMessage,
  encodeMappedAddress,
  encodeStunMessage,
  isStunMessage,
  type TransportAddress,
} from '@xpp/session-sdp';

const CRLF = Uint8Array.of(0x0d, 0x0a);

/**
 * The answer to an RFC 5626 flow keepalive on the SIP socket, or undefined when `datagram` is not one: a STUN
 * Binding request (RFC 5626 §4.4.2, the UDP keepalive) gets a Binding success response with the source as
 * XOR-MAPPED-ADDRESS, so the client sees its NAT mapping; a double CRLF ping gets a CRLF pong (§3.5.1, which
 * some clients send over UDP too). Pure; never throws on hostile input.
 */
export function answerKeepalive(datagram: Uint8Array, source: TransportAddress): Uint8Array | undefined {
  if (datagram.length === 4 && datagram.every((b, i) => b === CRLF[i % 2])) return CRLF;
  if (!isStunMessage(datagram)) return undefined;
  try {
    const request = decodeStunMessage(datagram);
    if (request.type !== StunType.BINDING_REQUEST) return undefined;
    return encodeStunMessage(
      {
        type: StunType.BINDING_SUCCESS,
        transactionId: request.transactionId,
        attributes: [encodeMappedAddress(source, request.transactionId)],
      },
      { fingerprint: true },
    );
  } catch {
    return undefined;
  }
}
