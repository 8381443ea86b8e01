// Known-answer vectors (docs/decisions/dht-peer-certificate.md): fixed seeds, Ed25519 is deterministic, so these
// octets are what any implementation of spec xpp-pcan §5.3 must produce and accept.
export const KAT = {
  adminSeed: '0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20',
  peerSeed: 'a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf',
  peerPublicKey: '4fd099ccd47d7893dfe9ec24414ecb0d9b5420232aad30d91c465be33cbe65c4',
  peerId: 'a18112b0b7b4225ff30527e0f7cf7a1e',
  domain: 'example.org',
  notBefore: 1_767_225_600, // 2026-01-01T00:00:00Z
  notAfter: 1_767_225_600 + 90 * 86_400,
  certificate:
    '014fd099ccd47d7893dfe9ec24414ecb0d9b5420232aad30d91c465be33cbe65c4000000006955b9000000000069cc6000000b6578616d' +
    '706c652e6f726713038ae4b77c034a8fc299c0b8fb2cbb4dcf39ef3e20b3a4f20269a537eeb65ae21706ccd67ee08000109998f6e66a' +
    '7db5d013515a69ef7dac670db018e0950b',
  revokedAt: 1_767_312_000,
  revocation:
    '01a18112b0b7b4225ff30527e0f7cf7a1e0000000069570a80776988540967a73436593f4a395deeb4622c87099e93dd30940c1a24d527' +
    'c5b4f6237149ada6633ffe3e5e5dda79d2d2092e8124cdea943b5e1df29c3ee9f109',
  enrollmentSecret: '42'.repeat(32),
  enrollmentTokenId: '000102030405060708090a0b0c0d0e0f',
  enrollmentProof: 'daa5479026ce8fb68fac66ad8b1291ece819060bcb50bf0ae26d36e584c54749',
  originBytes: 'alice@example.org',
  originSignature:
    'da0804f8c29c671920c9195574db52afa6a625dd1897204b9ad732b6b19cf5d5a0ac1ab2a0e0521b0604f5eb5e49566119e3c91f5eb7' +
    '4817a4f451450fe20401',
  transcript: 'xpp-auth v1 transcript',
  authSignature:
    '8480df577d7893395163dc5a2da95ad7e959eaf73954de1f004f29c9e20528e7cc437406c3cb8cd1fb1e9b5b9d193d43f611233e4a5b1e' +
    '7faa54956a9390860c',
} as const;

export const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
export const unhex = (h: string): Uint8Array => new Uint8Array(Buffer.from(h, 'hex'));
export const text = (t: string): Uint8Array => new TextEncoder().encode(t);
