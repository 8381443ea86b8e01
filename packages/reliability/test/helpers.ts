import { Option, encodeMessage } from '@xpp/wire';
import { type ChannelOptions, type ReceivedMessage, ReliableChannel } from '@xpp/reliability';
import { FakeClock, seededRandom } from '@xpp/reliability/testing';

/**
 * An encoded request carrying `size` octets of DATA derived from `seed`, so any corruption shows. DATA values
 * are at most 65535 octets, so a larger payload is split over several DATA options.
 */
export function payloadMessage(number: number, size: number, seed = number): Uint8Array {
  const data = new Uint8Array(size);
  let x = (seed * 2654435761) >>> 0;
  for (let i = 0; i < size; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    data[i] = x >>> 24;
  }
  const options = [];
  for (let at = 0; at < size || options.length === 0; at += 65535) {
    options.push(Option.DATA.option(data.subarray(at, Math.min(at + 65535, size))));
  }
  return encodeMessage({ number, response: false, type: 0x4000, options });
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

/** Collects every message the channel delivers. */
export function collect(channel: ReliableChannel): ReceivedMessage[] {
  const out: ReceivedMessage[] = [];
  channel.on('message', (m) => out.push({ ...m, bytes: Uint8Array.from(m.bytes) }));
  return out;
}

export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.length).equals(b);
}

/**
 * An open channel (ltag 1 to ltag 2, initial numbers 100 and 500) on its own fake clock, whose datagrams land in
 * `sent` (copied): the test plays the peer by hand.
 */
export function handDriven(options: Partial<ChannelOptions> = {}) {
  const clock = new FakeClock();
  const sent: Uint8Array[] = [];
  const channel = new ReliableChannel({
    localId: 1,
    remoteId: 2,
    clock,
    initialSeq: 100,
    peerInitialSeq: 500,
    port: { send: (d) => sent.push(Uint8Array.from(d)) },
    ...options,
  });
  return { clock, sent, channel };
}
