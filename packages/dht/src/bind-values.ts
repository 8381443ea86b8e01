import { WireError, type ValueCodec } from '@xpp/wire';
import type { DigestResponseFields } from './digest.js';
import { fromUtf8, type ByteReader, type ByteWriter } from './internal/bytes.js';
import { boundedBytesCodec, checkSize, structCodec } from './internal/codec.js';

/** Why a digest response was refused, or `ok` (REGISTER-BIND, AUTHORIZE). */
export type DigestVerdict = 'ok' | 'unknown-user' | 'wrong-response';
const VERDICTS: readonly DigestVerdict[] = ['ok', 'unknown-user', 'wrong-response'];

/** u8: 0 ok, 1 unknown user, 2 wrong response. */
export const verdictCodec: ValueCodec<DigestVerdict> = structCodec(
  'VERDICT',
  (w, v) => w.u8(VERDICTS.indexOf(v), 'verdict'),
  (r) => {
    const verdict = VERDICTS[r.u8('verdict')];
    if (verdict === undefined) throw new WireError('BAD_VALUE', 'VERDICT is unknown');
    return verdict;
  },
);

/** Octets of an ORIGIN: enough for a certificate (§5.3, ≤ 1 KiB domain) and a signature. */
export const MAX_ORIGIN_SIZE = 2048;

/** 1–2048 opaque octets, read by the node's origin authority. */
export const originCodec: ValueCodec<Uint8Array> = boundedBytesCodec('ORIGIN', 1, MAX_ORIGIN_SIZE);

const MAX_FIELD = 1024;
const REQUIRED = ['username', 'realm', 'nonce', 'uri', 'response', 'method'] as const;
const OPTIONAL = ['algorithm', 'qop', 'nc', 'cnonce'] as const;

function writeField(w: ByteWriter, text: string, field: string): void {
  w.text(text, 2, 0, MAX_FIELD, field);
}

function readField(r: ByteReader, field: string): string {
  const bytes = r.bytes16(field);
  checkSize(bytes.length, 0, MAX_FIELD, field, true);
  return fromUtf8(bytes, field);
}

/**
 * Per field, u16 length + UTF-8 (≤ 1024): username, realm, nonce, uri, response, method (each non-empty), then
 * algorithm, qop, nc, cnonce (empty = absent).
 */
export const digestFieldsCodec: ValueCodec<DigestResponseFields> = structCodec(
  'DIGEST-RESPONSE',
  (w, v) => {
    for (const field of REQUIRED) {
      if (v[field] === '') throw new WireError('INVALID_FIELD', `digest ${field} is empty`);
      writeField(w, v[field], field);
    }
    for (const field of OPTIONAL) writeField(w, v[field] ?? '', field);
  },
  (r) => {
    const out: { -readonly [K in keyof DigestResponseFields]: DigestResponseFields[K] } = {
      username: '',
      realm: '',
      nonce: '',
      uri: '',
      response: '',
      method: '',
    };
    for (const field of REQUIRED) {
      out[field] = readField(r, field);
      if (out[field] === '') throw new WireError('BAD_VALUE', `digest ${field} is empty`);
    }
    for (const field of OPTIONAL) {
      const value = readField(r, field);
      if (value !== '') out[field] = value;
    }
    return out;
  },
);
