/** Builders of the RFC 4475 torture messages (see `rfc4475-valid.ts`, `rfc4475-invalid.ts`). */

/** What a server does with a torture message: parse it, answer it with a status, or drop it (a response). */
export type SipTortureExpectation = 'valid' | 400 | 505 | 'drop';

export interface SipTortureMessage {
  /** The RFC's short name (`wsinv`, `badvers`, …). */
  readonly name: string;
  /** Its section of RFC 4475. */
  readonly section: string;
  readonly bytes: Uint8Array;
  readonly expect: SipTortureExpectation;
}

const encoder = new TextEncoder();

/** Lines joined with CRLF, an empty line, then the body; `{len}` in a line becomes the body's octet count. */
export function message(lines: readonly string[], body: string | Uint8Array = ''): Uint8Array {
  const bodyBytes = typeof body === 'string' ? encoder.encode(body) : body;
  const head = encoder.encode(
    `${lines.map((line) => line.replace('{len}', String(bodyBytes.length))).join('\r\n')}\r\n\r\n`,
  );
  const out = new Uint8Array(head.length + bodyBytes.length);
  out.set(head, 0);
  out.set(bodyBytes, head.length);
  return out;
}

export const sdp = (origin: string): string =>
  [
    'v=0',
    `o=torture 53655765 2353687637 IN IP4 ${origin}`,
    's=-',
    `c=IN IP4 ${origin}`,
    't=0 0',
    'm=audio 3456 RTP/AVP 0',
    'a=rtpmap:0 PCMU/8000',
    '',
  ].join('\r\n');

/** An ordinary header set for the invalid messages, each of which then breaks one thing. */
export function plain(
  name: string,
  method: string,
  overrides: Readonly<Record<string, string | undefined>> = {},
): string[] {
  const headers: Record<string, string | undefined> = {
    Via: `SIP/2.0/UDP 192.0.2.15;branch=z9hG4bK-${name}`,
    To: 'sip:j.user@example.com',
    From: `sip:caller@example.net;tag=${name}134161461246`,
    'Max-Forwards': '7',
    'Call-ID': `${name}.0ha0isndaksdjasdf3234nas`,
    CSeq: `8 ${method}`,
    ...overrides,
  };
  return Object.entries(headers)
    .filter((entry): entry is [string, string] => entry[1] !== undefined)
    .map(([header, value]) => `${header}: ${value}`);
}

export const requestLine = (method: string) => `${method} sip:user@example.com SIP/2.0`;

/** A multipart/mixed body whose second part is binary (NUL, 0xFF, CRLF inside): octets, not text. */
export function multipartBody(): Uint8Array {
  const text = (s: string) => encoder.encode(s);
  const binary = Uint8Array.from([
    0x30, 0x82, 0x00, 0x0d, 0x0a, 0xff, 0x00, 0x00, 0x0d, 0x0a, 0x0d, 0x0a, 0x7f,
  ]);
  const parts = [
    text(
      '--7a9cbec02ceef655\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: binary\r\n\r\nHello\r\n',
    ),
    text(
      '--7a9cbec02ceef655\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: binary\r\n\r\n',
    ),
    binary,
    text('\r\n--7a9cbec02ceef655--\r\n'),
  ];
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}
