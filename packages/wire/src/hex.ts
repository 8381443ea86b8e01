import { WireError } from './errors.js';

const HEX_DIGITS = '0123456789abcdef';

/** Lower-case hex of `bytes`. */
export function toHex(bytes: Uint8Array): string {
  let out = '';
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i] as number;
    out += HEX_DIGITS[b >>> 4]! + HEX_DIGITS[b & 0x0f]!;
  }
  return out;
}

/**
 * Octets from hex text. Case-insensitive; white space, `:` separators and a leading `0x` are ignored so that
 * dumps from tcpdump, Wireshark and specs paste in directly. Anything else is `BAD_HEX`.
 */
export function fromHex(text: string): Uint8Array {
  const clean = text.replace(/^0x/i, '').replace(/[\s:]/g, '');
  if (clean.length % 2 !== 0)
    throw new WireError('BAD_HEX', `hex has an odd number of digits (${clean.length})`);
  if (!/^[0-9a-fA-F]*$/.test(clean))
    throw new WireError('BAD_HEX', 'hex contains a character that is not a digit');
  const out = new Uint8Array(clean.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(clean.slice(i * 2, i * 2 + 2), 16);
  return out;
}
