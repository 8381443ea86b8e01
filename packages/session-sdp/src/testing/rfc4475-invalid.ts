/**
 * The messages of RFC 4475 (SIP torture tests), written anew from the RFC's descriptions of each: the same
 * tortures (folding, escapes, odd characters, scalars out of range, broken framing), not the RFC's exact bytes.
 * Shared by the parser's tests and the node's black-box test, which sends them as raw UDP.
 */
import { RFC4475_APPLICATION } from './rfc4475-application.js';
import { message, plain, requestLine, sdp, type SipTortureMessage } from './torture-builders.js';

/**
 * §3.1.2 (invalid messages) and the parser's share of §3.3 (insuf, multi01, mcl01): a request gets a 400 (505 for
 * another version) built from what could be read, a response is dropped (there is no one to answer).
 */
export const RFC4475_INVALID: readonly SipTortureMessage[] = [
  {
    name: 'badinv01',
    section: '3.1.2.1',
    expect: 400,
    bytes: message(
      [
        requestLine('INVITE'),
        ...plain('badinv01', 'INVITE', { Via: 'SIP/2.0/UDP 192.0.2.15;;,;,,' }),
        'Contact: "Joe" <sip:joe@example.org>;;;;',
        'Content-Length: {len}',
        'Content-Type: application/sdp',
      ],
      sdp('192.0.2.15'),
    ),
  },
  {
    name: 'clerr',
    section: '3.1.2.2',
    expect: 400,
    bytes: message(
      [
        requestLine('INVITE'),
        ...plain('clerr', 'INVITE'),
        'Content-Length: 9999',
        'Content-Type: application/sdp',
      ],
      sdp('192.0.2.15'),
    ),
  },
  {
    name: 'ncl',
    section: '3.1.2.3',
    expect: 400,
    bytes: message(
      [
        requestLine('INVITE'),
        ...plain('ncl', 'INVITE'),
        'Content-Length: -999',
        'Content-Type: application/sdp',
      ],
      sdp('192.0.2.15'),
    ),
  },
  {
    name: 'scalar02',
    section: '3.1.2.4',
    expect: 400,
    bytes: message([
      'REGISTER sip:example.com SIP/2.0',
      ...plain('scalar02', 'REGISTER', { CSeq: '36893488147419103232 REGISTER', 'Max-Forwards': '300' }),
      'Expires: 1000000000000000',
      'Contact: <sip:user@host129.example.com>;expires=280297596632815',
      'Content-Length: 0',
    ]),
  },
  {
    name: 'scalarlg',
    section: '3.1.2.5',
    expect: 'drop',
    bytes: message([
      'SIP/2.0 503 Service Unavailable',
      'Via: SIP/2.0/TCP host129.example.com;branch=z9hG4bKzzxdiwo34sw;received=192.0.2.129',
      'To: <sip:user@example.com>',
      'From: <sip:other@example.net>;tag=2easdjfejw',
      'CSeq: 9292394834772304023312 OPTIONS',
      'Call-ID: scalarlg.noase0of0234hn2qofoaf0232aewf2394r',
      'Retry-After: 949302838503028349304023988',
      'Warning: 1812 overture "In Progress"',
      'Content-Length: 0',
    ]),
  },
  {
    name: 'quotbal',
    section: '3.1.2.6',
    expect: 400,
    bytes: message([
      requestLine('INVITE'),
      ...plain('quotbal', 'INVITE', { To: '"Mr. J. User <sip:j.user@example.com>' }),
      'Content-Length: 0',
    ]),
  },
  {
    name: 'ltgtruri',
    section: '3.1.2.7',
    expect: 400,
    bytes: message([
      'INVITE <sip:user@example.com> SIP/2.0',
      ...plain('ltgtruri', 'INVITE'),
      'Content-Length: 0',
    ]),
  },
  {
    name: 'lwsruri',
    section: '3.1.2.8',
    expect: 400,
    bytes: message([
      'INVITE sip:user@example.com; lr SIP/2.0',
      ...plain('lwsruri', 'INVITE'),
      'Content-Length: 0',
    ]),
  },
  {
    name: 'lwsstart',
    section: '3.1.2.9',
    expect: 400,
    bytes: message([
      'INVITE  sip:user@example.com  SIP/2.0',
      ...plain('lwsstart', 'INVITE'),
      'Content-Length: 0',
    ]),
  },
  {
    name: 'trws',
    section: '3.1.2.10',
    expect: 400,
    bytes: message([`${requestLine('OPTIONS')}  `, ...plain('trws', 'OPTIONS'), 'Content-Length: 0']),
  },
  {
    name: 'escruri',
    section: '3.1.2.11',
    expect: 400,
    bytes: message([
      'INVITE sip:user@example.com?Route=%3Csip:example.com%3E SIP/2.0',
      ...plain('escruri', 'INVITE'),
      'Content-Length: 0',
    ]),
  },
  {
    name: 'baddate',
    section: '3.1.2.12',
    expect: 400,
    bytes: message([
      requestLine('INVITE'),
      ...plain('baddate', 'INVITE'),
      'Date: Fri, 01 Jan 2010 16:00:00 EST',
      'Content-Length: 0',
    ]),
  },
  {
    name: 'regbadct',
    section: '3.1.2.13',
    expect: 400,
    bytes: message([
      'REGISTER sip:example.com SIP/2.0',
      ...plain('regbadct', 'REGISTER'),
      'Contact: sip:user@example.com?Route=%3Csip:sip.example.com%3E',
      'l: 0',
    ]),
  },
  {
    name: 'badaspec',
    section: '3.1.2.14',
    expect: 400,
    bytes: message([
      'OPTIONS sip:user@example.org SIP/2.0',
      ...plain('badaspec', 'OPTIONS', { From: '"Bell, Alexander" <sip:a.g.bell@ bell-tel.com>;tag=43' }),
      'Content-Length: 0',
    ]),
  },
  {
    name: 'baddn',
    section: '3.1.2.15',
    expect: 400,
    bytes: message([
      'OPTIONS sip:t.watson@example.org SIP/2.0',
      ...plain('baddn', 'OPTIONS', { From: 'Bell, Alexander <sip:a.g.bell@bell-tel.com>;tag=43' }),
      'Content-Length: 0',
    ]),
  },
  {
    name: 'badvers',
    section: '3.1.2.16',
    expect: 505,
    bytes: message(['OPTIONS sip:t.watson@example.org SIP/7.0', ...plain('badvers', 'OPTIONS'), 'l: 0']),
  },
  {
    name: 'mismatch01',
    section: '3.1.2.17',
    expect: 400,
    bytes: message([requestLine('OPTIONS'), ...plain('mismatch01', 'INVITE'), 'l: 0']),
  },
  {
    name: 'mismatch02',
    section: '3.1.2.18',
    expect: 400,
    bytes: message([requestLine('NEWMETHOD'), ...plain('mismatch02', 'INVITE'), 'l: 0']),
  },
  {
    name: 'bigcode',
    section: '3.1.2.19',
    expect: 'drop',
    bytes: message([
      'SIP/2.0 4294967301 better not break the receiver',
      'Via: SIP/2.0/UDP 192.0.2.105;branch=z9hG4bK2398ndaoe',
      'Call-ID: bigcode.asdof3uj203asdnf3429uasdhfas3ehjasdfas9i',
      'CSeq: 353494 INVITE',
      'From: <sip:user@example.com>;tag=39ansfi3',
      'To: <sip:user@example.edu>;tag=902jndnke3',
      'Content-Length: 0',
    ]),
  },
  {
    name: 'insuf',
    section: '3.3.1',
    expect: 400,
    bytes: message([
      requestLine('INVITE'),
      ...plain('insuf', 'INVITE', { To: undefined, From: undefined, 'Call-ID': undefined }),
      'Contact: <sip:caller@host5.example.net>',
      'l: 0',
    ]),
  },
  {
    name: 'multi01',
    section: '3.3.8',
    expect: 400,
    bytes: message([
      requestLine('INVITE'),
      ...plain('multi01', 'INVITE'),
      'CSeq: 59 INVITE',
      'Call-ID: multi01.98asdh@192.0.2.2',
      'To: sip:other@example.net',
      'From: sip:caller@example.net;tag=2923420123',
      'Max-Forwards: 5',
      'l: 0',
    ]),
  },
  {
    name: 'mcl01',
    section: '3.3.9',
    expect: 400,
    bytes: message(
      [requestLine('OPTIONS'), ...plain('mcl01', 'OPTIONS'), 'Content-Length: 0', 'Content-Length: {len}'],
      sdp('192.0.2.15'),
    ),
  },
];

/**
 * Messages of §3.2-§3.4 a parser must take whatever the application then does: a bare magic-cookie branch
 * (badbranch), unknown URI schemes (unkscm, novelsc, unksm2: 416 or 400 is the application's), the rest of §3.3
 * (bext01, invut, regaut01, bcast, zeromf, cparam01, cparam02, regescrt, sdp01: `rfc4475-application.ts`), an
 * RFC 2543 INVITE without branch or tags (inv2543).
 */
export const RFC4475_PARSEABLE: readonly SipTortureMessage[] = [
  {
    name: 'badbranch',
    section: '3.2.1',
    expect: 'valid',
    bytes: message([
      requestLine('OPTIONS'),
      ...plain('badbranch', 'OPTIONS', { Via: 'SIP/2.0/UDP 192.0.2.15;branch=z9hG4bK' }),
      'l: 0',
    ]),
  },
  {
    name: 'unkscm',
    section: '3.3.2',
    expect: 'valid',
    bytes: message([
      'OPTIONS nobodyKnowsThisScheme:totallyopaquecontent SIP/2.0',
      ...plain('unkscm', 'OPTIONS'),
      'l: 0',
    ]),
  },
  {
    name: 'novelsc',
    section: '3.3.3',
    expect: 'valid',
    bytes: message(['OPTIONS soap.beep://192.0.2.103:3002 SIP/2.0', ...plain('novelsc', 'OPTIONS'), 'l: 0']),
  },
  {
    name: 'unksm2',
    section: '3.3.4',
    expect: 'valid',
    bytes: message([
      'REGISTER sip:example.com SIP/2.0',
      ...plain('unksm2', 'REGISTER', { To: 'isbn:2983792873', From: '<http://www.example.com>;tag=3234233' }),
      'Contact: <name:John_Smith>',
      'l: 0',
    ]),
  },
  {
    name: 'inv2543',
    section: '3.4.1',
    expect: 'valid',
    bytes: message(
      [
        'INVITE sip:UserB@example.com SIP/2.0',
        'Via: SIP/2.0/UDP iftgw.example.com',
        'From: <sip:+13035551111@ift.client.example.net;user=phone>',
        'Record-Route: <sip:UserB@example.com;maddr=ss1.example.com>',
        'To: sip:+16505552222@ss1.example.net;user=phone',
        'Call-ID: inv2543.1717@ift.client.example.com',
        'CSeq: 56 INVITE',
        'Content-Type: application/sdp',
        'Content-Length: {len}',
      ],
      sdp('192.0.2.1'),
    ),
  },
  ...RFC4475_APPLICATION,
];
