import { describe, expect, it } from 'vitest';
import { REASON_PHRASES, SipHeaders, createResponse, serializeSip, type SipRequest } from '../src/index.js';

// RFC 3261 §21, transcribed from the RFC (not from the table under test), and RFC 5626 §11.
const RFC_3261: Record<number, string> = {
  100: 'Trying',
  180: 'Ringing',
  181: 'Call Is Being Forwarded',
  182: 'Queued',
  183: 'Session Progress',
  200: 'OK',
  300: 'Multiple Choices',
  301: 'Moved Permanently',
  302: 'Moved Temporarily',
  305: 'Use Proxy',
  380: 'Alternative Service',
  400: 'Bad Request',
  401: 'Unauthorized',
  402: 'Payment Required',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  406: 'Not Acceptable',
  407: 'Proxy Authentication Required',
  408: 'Request Timeout',
  410: 'Gone',
  413: 'Request Entity Too Large',
  414: 'Request-URI Too Long',
  415: 'Unsupported Media Type',
  416: 'Unsupported URI Scheme',
  420: 'Bad Extension',
  421: 'Extension Required',
  423: 'Interval Too Brief',
  480: 'Temporarily Unavailable',
  481: 'Call/Transaction Does Not Exist',
  482: 'Loop Detected',
  483: 'Too Many Hops',
  484: 'Address Incomplete',
  485: 'Ambiguous',
  486: 'Busy Here',
  487: 'Request Terminated',
  488: 'Not Acceptable Here',
  491: 'Request Pending',
  493: 'Undecipherable',
  500: 'Server Internal Error',
  501: 'Not Implemented',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Server Time-out',
  505: 'Version Not Supported',
  513: 'Message Too Large',
  600: 'Busy Everywhere',
  603: 'Decline',
  604: 'Does Not Exist Anywhere',
  606: 'Not Acceptable',
};
const RFC_5626: Record<number, string> = { 430: 'Flow Failed', 439: 'First Hop Lacks Outbound Support' };

const request: SipRequest = {
  kind: 'request',
  method: 'OPTIONS',
  uri: 'sip:localhost',
  headers: new SipHeaders([
    ['Via', 'SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK-r'],
    ['From', '<sip:a@localhost>;tag=1'],
    ['To', '<sip:localhost>'],
    ['Call-ID', 'reasons'],
    ['CSeq', '1 OPTIONS'],
  ]),
  body: new Uint8Array(0),
};

describe('reason phrases (RFC 3261 §21 and RFC 5626)', () => {
  it('has the phrase of every code of RFC 3261 §21 and of RFC 5626, and no other', () => {
    expect(REASON_PHRASES).toEqual({ ...RFC_3261, ...RFC_5626 });
  });

  it('puts them on the wire in the status line of a response created without a reason', () => {
    for (const [status, phrase] of Object.entries({ ...RFC_3261, ...RFC_5626 })) {
      const line = new TextDecoder()
        .decode(serializeSip(createResponse(request, Number(status))))
        .split('\r\n')[0];
      expect(line).toBe(`SIP/2.0 ${status} ${phrase}`);
    }
    // A code of an extension this package does not send keeps a placeholder; a given reason always wins.
    expect(createResponse(request, 470).reason).toBe('Unknown');
    expect(createResponse(request, 480, { reason: 'Gone Fishing' }).reason).toBe('Gone Fishing');
  });
});
