import { randomBytes } from 'node:crypto';
import { isIP } from 'node:net';
import { SessionError } from '../errors.js';
import type { TransportAddress } from '../sdp/description.js';

/** RFC 8489 §5. */
export const STUN_MAGIC_COOKIE = 0x2112a442;
export const STUN_HEADER_SIZE = 20;
/** Message types this package reads and writes. */
export const StunType = {
  BINDING_REQUEST: 0x0001,
  BINDING_SUCCESS: 0x0101,
  BINDING_ERROR: 0x0111,
} as const;
/** Attribute types this package reads and writes. */
export const StunAttribute = {
  MAPPED_ADDRESS: 0x0001,
  ERROR_CODE: 0x0009,
  XOR_MAPPED_ADDRESS: 0x0020,
  SOFTWARE: 0x8022,
  FINGERPRINT: 0x8028,
} as const;
/** Bound on the attributes read from one message. */
export const MAX_STUN_ATTRIBUTES = 32;

const FINGERPRINT_XOR = 0x5354554e;

export interface StunAttributeValue {
  readonly type: number;
  readonly value: Uint8Array;
}

export interface StunMessage {
  readonly type: number;
  /** 12 octets. */
  readonly transactionId: Uint8Array;
  readonly attributes: readonly StunAttributeValue[];
}

/**
 * True when `datagram` looks like STUN (first two bits zero, magic cookie): a cheap test to tell STUN from XPP on
 * one socket, since an XPP fragment starts with version 1 (first octet 0x1X).
 */
export function isStunMessage(datagram: Uint8Array): boolean {
  return (
    datagram.length >= STUN_HEADER_SIZE &&
    (datagram[0] ?? 0xff) < 0x40 &&
    readU32(datagram, 4) === STUN_MAGIC_COOKIE
  );
}

/** A new 96-bit transaction id from the CSPRNG (RFC 8489 §5). */
export function newStunTransactionId(): Uint8Array {
  return new Uint8Array(randomBytes(12));
}

/** Encodes a message; attributes are padded to 4 octets. With `fingerprint`, FINGERPRINT is appended last. */
export function encodeStunMessage(message: StunMessage, options: { fingerprint?: boolean } = {}): Uint8Array {
  if (message.transactionId.length !== 12) {
    throw new SessionError('INVALID_ARGUMENT', 'STUN transaction id is 12 octets');
  }
  let length = 0;
  for (const a of message.attributes) length += 4 + padded(a.value.length);
  if (options.fingerprint === true) length += 8;
  if (length > 0xffff - STUN_HEADER_SIZE) throw new SessionError('TOO_LARGE', 'STUN message too long');
  const out = new Uint8Array(STUN_HEADER_SIZE + length);
  writeU16(out, 0, message.type & 0x3fff);
  writeU16(out, 2, length);
  writeU32(out, 4, STUN_MAGIC_COOKIE);
  out.set(message.transactionId, 8);
  let offset = STUN_HEADER_SIZE;
  for (const a of message.attributes) {
    writeU16(out, offset, a.type);
    writeU16(out, offset + 2, a.value.length);
    out.set(a.value, offset + 4);
    offset += 4 + padded(a.value.length);
  }
  if (options.fingerprint === true) {
    writeU16(out, offset, StunAttribute.FINGERPRINT);
    writeU16(out, offset + 2, 4);
    writeU32(out, offset + 4, (crc32(out.subarray(0, offset)) ^ FINGERPRINT_XOR) >>> 0);
  }
  return out;
}

/**
 * Decodes a STUN message. Throws `SessionError` `BAD_STUN` (not STUN, length not a multiple of 4, truncated
 * attribute, wrong FINGERPRINT) or `TOO_LARGE` (more than {@link MAX_STUN_ATTRIBUTES}), and nothing else.
 */
export function decodeStunMessage(datagram: Uint8Array): StunMessage {
  if (!isStunMessage(datagram)) throw new SessionError('BAD_STUN', 'not a STUN message');
  const length = readU16(datagram, 2);
  if (length % 4 !== 0 || STUN_HEADER_SIZE + length !== datagram.length) {
    throw new SessionError(
      'BAD_STUN',
      `STUN length ${length} does not match ${datagram.length - STUN_HEADER_SIZE} octets`,
    );
  }
  const attributes: StunAttributeValue[] = [];
  let offset = STUN_HEADER_SIZE;
  while (offset < datagram.length) {
    if (offset + 4 > datagram.length) throw new SessionError('BAD_STUN', 'truncated STUN attribute header');
    const type = readU16(datagram, offset);
    const size = readU16(datagram, offset + 2);
    const end = offset + 4 + size;
    if (end > datagram.length) throw new SessionError('BAD_STUN', 'truncated STUN attribute');
    if (type === StunAttribute.FINGERPRINT) {
      const expected = (crc32(datagram.subarray(0, offset)) ^ FINGERPRINT_XOR) >>> 0;
      if (size !== 4 || readU32(datagram, offset + 4) !== expected || end !== datagram.length) {
        throw new SessionError('BAD_STUN', 'STUN FINGERPRINT mismatch');
      }
    }
    if (attributes.length >= MAX_STUN_ATTRIBUTES)
      throw new SessionError('TOO_LARGE', 'too many STUN attributes');
    attributes.push({ type, value: datagram.slice(offset + 4, end) });
    offset += 4 + padded(size);
  }
  return {
    type: readU16(datagram, 0),
    transactionId: datagram.slice(8, STUN_HEADER_SIZE),
    attributes,
  };
}

/** The value of an (XOR-)MAPPED-ADDRESS attribute (RFC 8489 §14.1, §14.2). */
export function encodeMappedAddress(
  at: TransportAddress,
  transactionId: Uint8Array,
  xor = true,
): StunAttributeValue {
  const family = isIP(at.address);
  if (family === 0) throw new SessionError('INVALID_ARGUMENT', `${at.address} is not an IP`);
  const address = addressBytes(at.address, family);
  const value = new Uint8Array(4 + address.length);
  value[1] = family === 4 ? 0x01 : 0x02;
  writeU16(value, 2, xor ? at.port ^ (STUN_MAGIC_COOKIE >>> 16) : at.port);
  value.set(xor ? xorAddress(address, transactionId) : address, 4);
  return { type: xor ? StunAttribute.XOR_MAPPED_ADDRESS : StunAttribute.MAPPED_ADDRESS, value };
}

/** The mapped address of a binding response: XOR-MAPPED-ADDRESS, else MAPPED-ADDRESS; undefined if neither reads. */
export function readMappedAddress(message: StunMessage): TransportAddress | undefined {
  const xored = message.attributes.find((a) => a.type === StunAttribute.XOR_MAPPED_ADDRESS);
  const plain = message.attributes.find((a) => a.type === StunAttribute.MAPPED_ADDRESS);
  const attribute = xored ?? plain;
  if (attribute === undefined) return undefined;
  const v = attribute.value;
  const family = v[1];
  const size = family === 0x01 ? 4 : family === 0x02 ? 16 : 0;
  if (size === 0 || v.length !== 4 + size) return undefined;
  const raw = v.subarray(4);
  const address = xored === undefined ? raw : xorAddress(raw, message.transactionId);
  const port = xored === undefined ? readU16(v, 2) : readU16(v, 2) ^ (STUN_MAGIC_COOKIE >>> 16);
  return { address: formatAddress(address), port };
}

function addressBytes(address: string, family: number): Uint8Array {
  if (family === 4) return Uint8Array.from(address.split('.').map(Number));
  // Expand `::` and read the eight 16-bit groups (an embedded IPv4 tail is written as two groups).
  const [head = '', tail] = address.split('::');
  const groups = (s: string) => (s === '' ? [] : s.split(':'));
  const withV4 = (g: string[]) =>
    g.flatMap((x) => {
      if (!x.includes('.')) return [x];
      const [a = 0, b = 0, c = 0, d = 0] = x.split('.').map(Number);
      return [((a << 8) | b).toString(16), ((c << 8) | d).toString(16)];
    });
  const h = withV4(groups(head));
  const t = withV4(groups(tail ?? ''));
  const all = tail === undefined ? h : [...h, ...new Array<string>(8 - h.length - t.length).fill('0'), ...t];
  const out = new Uint8Array(16);
  all.forEach((g, i) => writeU16(out, i * 2, Number.parseInt(g, 16)));
  return out;
}

function formatAddress(bytes: Uint8Array): string {
  if (bytes.length === 4) return Array.from(bytes).join('.');
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(readU16(bytes, i).toString(16));
  // The WHATWG URL parser writes the canonical RFC 5952 form (`::` compression, lower case).
  return new URL(`http://[${groups.join(':')}]/`).hostname.slice(1, -1);
}

function xorAddress(address: Uint8Array, transactionId: Uint8Array): Uint8Array {
  const key = new Uint8Array(16);
  writeU32(key, 0, STUN_MAGIC_COOKIE);
  key.set(transactionId.subarray(0, 12), 4);
  return address.map((octet, i) => octet ^ (key[i] ?? 0));
}

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/** CRC-32 (ISO 3309 / ITU-T V.42), as FINGERPRINT uses. */
export function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const octet of bytes) c = (CRC_TABLE[(c ^ octet) & 0xff] ?? 0) ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function padded(n: number): number {
  return (n + 3) & ~3;
}
function readU16(b: Uint8Array, o: number): number {
  return ((b[o] ?? 0) << 8) | (b[o + 1] ?? 0);
}
function readU32(b: Uint8Array, o: number): number {
  return ((readU16(b, o) << 16) | readU16(b, o + 2)) >>> 0;
}
function writeU16(b: Uint8Array, o: number, v: number): void {
  b[o] = (v >>> 8) & 0xff;
  b[o + 1] = v & 0xff;
}
function writeU32(b: Uint8Array, o: number, v: number): void {
  writeU16(b, o, v >>> 16);
  writeU16(b, o + 2, v & 0xffff);
}
