import { Option, encodeMessage } from '@xpp/wire';
import type { ReceivedMessage, ReliableChannel } from '../src/index.js';
import { seededRandom } from '../src/testing/index.js';

/** An encoded request whose DATA of `size` octets is derived from `seed`, so any corruption shows. */
export function payloadMessage(number: number, size: number, seed = number): Uint8Array {
  const data = new Uint8Array(size);
  let x = (seed * 2654435761) >>> 0;
  for (let i = 0; i < size; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    data[i] = x >>> 24;
  }
  return encodeMessage({ number, response: false, type: 0x4000, options: [Option.DATA.option(data)] });
}

/**
 * `count` message sizes from 1 octet of DATA up to `max` octets of message, log-uniform so that both tiny and
 * 200 KiB messages occur while the total stays small enough for a 2-core CI machine. DATA is one option, so
 * sizes above 65535 are split into several DATA options.
 */
export function randomSizes(count: number, max: number, seed: number): number[] {
  const random = seededRandom(seed);
  const sizes: number[] = [];
  for (let i = 0; i < count; i++) sizes.push(Math.max(1, Math.floor(Math.exp(random() * Math.log(max)))));
  sizes[0] = 1;
  sizes[count - 1] = max;
  return sizes;
}

/** An encoded message of exactly `total` octets of DATA (several options when above 65535). */
export function bulkMessage(number: number, total: number): Uint8Array {
  const options = [];
  let left = total;
  let seed = number;
  while (left > 0 || options.length === 0) {
    const size = Math.min(left, 60_000);
    const data = payloadMessage(seed++, size).subarray(16);
    options.push(Option.DATA.option(data));
    left -= size;
  }
  return encodeMessage({ number, response: false, type: 0x4000, options });
}

/** Collects every message the channel delivers. */
export function collect(channel: ReliableChannel): ReceivedMessage[] {
  const out: ReceivedMessage[] = [];
  channel.on('message', (m) => out.push({ ...m, bytes: Uint8Array.from(m.bytes) }));
  return out;
}

export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.length).equals(b);
}
