/**
 * The rest of RFC 4475 §3.3 (application-layer semantics): well-formed messages that a parser must take and that
 * test what the element then does, written anew from the RFC's descriptions. Part of `RFC4475_PARSEABLE`; the
 * expected behaviour, by role, is in each comment.
 */
import { message, sdp, type SipTortureMessage } from './torture-builders.js';

export const RFC4475_APPLICATION: readonly SipTortureMessage[] = [
  {
    // §3.3.5: option tags nobody implements. A UAS answers 420 with `Unsupported` listing the Require tags, a proxy
    // 420 listing the Proxy-Require tags.
    name: 'bext01',
    section: '3.3.5',
    expect: 'valid',
    bytes: message([
      'OPTIONS sip:user@example.com SIP/2.0',
      'To: sip:j_user@example.com',
      'From: sip:caller@example.net;tag=bext01x7',
      'Max-Forwards: 6',
      'Call-ID: bext01.91mzkq0dh3',
      'Require: nobodySupportsThis, norThisOneEither',
      'Proxy-Require: noProxySupportsThis, norAnyOtherProxy',
      'CSeq: 8 OPTIONS',
      'Via: SIP/2.0/UDP 192.0.2.15;branch=z9hG4bK-bext01',
      'Content-Length: 0',
    ]),
  },
  {
    // §3.3.6: a body of a type nobody knows. A proxy handles it like any INVITE; a UAS answers 415.
    name: 'invut',
    section: '3.3.6',
    expect: 'valid',
    bytes: message(
      [
        'INVITE sip:user@example.com SIP/2.0',
        'Contact: <sip:caller@host5.example.net>',
        'To: sip:j.user@example.com',
        'From: sip:caller@example.net;tag=invut8z2',
        'Max-Forwards: 7',
        'Call-ID: invut.0q8dm2mxa91',
        'CSeq: 18 INVITE',
        'Via: SIP/2.0/UDP 192.0.2.15;branch=z9hG4bK-invut',
        'Content-Type: application/unknownformat',
        'Accept: text/nobodyKnowsThis',
        'Content-Length: {len}',
      ],
      'Octets of a format no receiver understands.\r\n<format version="x"/>\r\n',
    ),
  },
  {
    // §3.3.7: an Authorization scheme nobody knows. A registrar that authenticates answers 401 with a challenge of
    // its own scheme; a proxy passes the header on unchanged.
    name: 'regaut01',
    section: '3.3.7',
    expect: 'valid',
    bytes: message([
      'REGISTER sip:example.com SIP/2.0',
      'To: sip:j.user@example.com',
      'From: sip:j.user@example.com;tag=regaut9q',
      'Max-Forwards: 7',
      'Call-ID: regaut01.7ck2nd0s',
      'CSeq: 9338 REGISTER',
      'Via: SIP/2.0/UDP 192.0.2.15;branch=z9hG4bK-regaut01',
      'Authorization: NoOneKnowsThisScheme opaque-data=here',
      'Content-Length: 0',
    ]),
  },
  {
    // §3.3.10: a response whose second Via names the broadcast address. An endpoint discards it; a proxy must not
    // forward it there.
    name: 'bcast',
    section: '3.3.10',
    expect: 'valid',
    bytes: message(
      [
        'SIP/2.0 200 OK',
        'Via: SIP/2.0/UDP 192.0.2.198;branch=z9hG4bK-bcast-top',
        'Via: SIP/2.0/UDP 255.255.255.255;branch=z9hG4bK-bcast-next',
        'Call-ID: bcast.2kx8fn30vbq',
        'CSeq: 35 INVITE',
        'From: sip:user@example.com;tag=bcast11a',
        'To: sip:user@example.edu;tag=bcast22b',
        'Content-Length: {len}',
        'Content-Type: application/sdp',
        'Contact: <sip:user@host28.example.com>',
      ],
      sdp('192.0.2.198'),
    ),
  },
  {
    // §3.3.11: Max-Forwards of zero. A proxy does not forward it (483); an endpoint processes it normally.
    name: 'zeromf',
    section: '3.3.11',
    expect: 'valid',
    bytes: message([
      'OPTIONS sip:user@example.com SIP/2.0',
      'To: sip:user@example.com',
      'From: sip:caller@example.net;tag=zeromf4c',
      'Call-ID: zeromf.n3k2la9x0',
      'CSeq: 3924 OPTIONS',
      'Via: SIP/2.0/UDP 192.0.2.15;branch=z9hG4bK-zeromf',
      'Max-Forwards: 0',
      'Content-Length: 0',
    ]),
  },
  {
    // §3.3.12: without angle brackets `unknownparam` is a parameter of the Contact header field, not of the URI.
    // The registration succeeds, and neither its 200 nor a later query shows the parameter in the bound URI.
    name: 'cparam01',
    section: '3.3.12',
    expect: 'valid',
    bytes: message([
      'REGISTER sip:example.com SIP/2.0',
      'Via: SIP/2.0/UDP 192.0.2.15;branch=z9hG4bK-cparam01',
      'Max-Forwards: 70',
      'From: sip:watson@example.com;tag=cparam1d',
      'To: sip:watson@example.com',
      'Call-ID: cparam01.5r0q2m@192.0.2.15',
      'CSeq: 2 REGISTER',
      'Contact: sip:+19725552222@gw1.example.net;unknownparam',
      'l: 0',
    ]),
  },
  {
    // §3.3.13: inside angle brackets `unknownparam` belongs to the URI: bound with it, and shown with it.
    name: 'cparam02',
    section: '3.3.13',
    expect: 'valid',
    bytes: message([
      'REGISTER sip:example.com SIP/2.0',
      'Via: SIP/2.0/UDP 192.0.2.15;branch=z9hG4bK-cparam02',
      'Max-Forwards: 70',
      'From: sip:watson@example.com;tag=cparam2e',
      'To: sip:watson@example.com',
      'Call-ID: cparam02.9w1x7p@192.0.2.15',
      'CSeq: 3 REGISTER',
      'Contact: <sip:+19725552222@gw1.example.net;unknownparam>',
      'l: 0',
    ]),
  },
  {
    // §3.3.14: a contact URI with an escaped header. The registration succeeds and later retrievals show the
    // contact with that header.
    name: 'regescrt',
    section: '3.3.14',
    expect: 'valid',
    bytes: message([
      'REGISTER sip:example.com SIP/2.0',
      'To: sip:user@example.com',
      'From: sip:user@example.com;tag=regesc3f',
      'Max-Forwards: 70',
      'Call-ID: regescrt.k2m9a0qz@192.0.2.15',
      'CSeq: 14398234 REGISTER',
      'Via: SIP/2.0/UDP 192.0.2.15;branch=z9hG4bK-regescrt',
      'Contact: <sip:user@example.com?Route=%3Csip:sip.example.com%3E>',
      'l: 0',
    ]),
  },
  {
    // §3.3.15: an offer whose Accept leaves out application/sdp. A UAS may answer 406 (with a Warning 399) or 400;
    // a proxy forwards it like any INVITE.
    name: 'sdp01',
    section: '3.3.15',
    expect: 'valid',
    bytes: message(
      [
        'INVITE sip:user@example.com SIP/2.0',
        'To: sip:j_user@example.com',
        'Contact: <sip:caller@host15.example.net>',
        'From: sip:caller@example.net;tag=sdp01g5h',
        'Max-Forwards: 6',
        'Call-ID: sdp01.ndaksdj9x7',
        'Content-Type: application/sdp',
        'CSeq: 29 INVITE',
        'Via: SIP/2.0/UDP 192.0.2.15;branch=z9hG4bK-sdp01',
        'Accept: text/nobodyKnowsThis',
        'Content-Length: {len}',
      ],
      sdp('192.0.2.15'),
    ),
  },
];
