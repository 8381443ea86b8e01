import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { WireError, decodeMessage, defaultRegistry, encodeMessage, fromHex, type XppOption } from '@xpp/wire';
import {
  decodeCredential,
  decodeGet,
  decodePut,
  decodePutResponse,
  decodeRecords,
  decodeRemove,
  decodeRoute,
  decodeRelayConnect,
  decodeRelayConnectResponse,
  bindingCodec,
  peerRecordCodec,
} from '@xpp/dht';
import { decodeHandoff, decodeNeighbourUpdate, decodeTakeover } from '../../src/messages.js';
import { decodeRecord } from '../../src/records.js';

const bodyDecoders: ((options: readonly XppOption[]) => unknown)[] = [
  decodeRoute,
  decodePut,
  decodePutResponse,
  decodeGet,
  (o) => decodeRecords(o, 1000),
  decodeRemove,
  (o) => decodeHandoff(o, 1000),
  decodeNeighbourUpdate,
  decodeTakeover,
  decodeRelayConnect,
  decodeRelayConnectResponse,
];
const valueDecoders: ((bytes: Uint8Array) => unknown)[] = [
  decodeRecord,
  decodeCredential,
  (b) => bindingCodec.decode(b),
  (b) => peerRecordCodec.decode(b),
];

function typed(run: () => unknown): void {
  try {
    run();
  } catch (error) {
    if (!WireError.is(error)) throw error;
  }
}

/**
 * Everything a node does with a received message's octets before acting on it: decode the message, then every
 * operation body, every registered option codec on every option, and every record-value decoder on every value.
 * Throws only if something throws what is not a `WireError` (or never returns).
 */
export function decodeEverything(bytes: Uint8Array): void {
  let options: readonly XppOption[];
  try {
    options = decodeMessage(bytes).options;
  } catch (error) {
    if (WireError.is(error)) return;
    throw error;
  }
  for (const decode of bodyDecoders) typed(() => decode(options));
  for (const option of options) {
    const type = defaultRegistry.option(option.type);
    if (type !== undefined) typed(() => type.decode(option));
    for (const decode of valueDecoders) typed(() => decode(option.value));
  }
}

const vectors = JSON.parse(readFileSync(new URL('../vectors.json', import.meta.url), 'utf8')) as {
  messages: { hex: string }[];
};
const seeds = vectors.messages.map((v) => fromHex(v.hex));

const seedMessages = seeds.map((bytes) => decodeMessage(bytes));

/** One change to one option of a golden-vector message. */
const optionMutation = fc.record({
  index: fc.nat(),
  how: fc.constantFrom('flip', 'cut', 'extend', 'drop', 'repeat'),
  at: fc.nat(),
  octet: fc.integer({ min: 0, max: 255 }),
  extra: fc.uint8Array({ minLength: 1, maxLength: 40 }),
});

function mutate(
  options: XppOption[],
  m: typeof optionMutation extends fc.Arbitrary<infer M> ? M : never,
): void {
  if (options.length === 0) return;
  const i = m.index % options.length;
  const option = options[i] as XppOption;
  const value = option.value.slice();
  switch (m.how) {
    case 'flip':
      if (value.length > 0) value[m.at % value.length] = m.octet;
      options[i] = { ...option, value };
      return;
    case 'cut':
      options[i] = { ...option, value: value.subarray(0, m.at % (value.length + 1)) };
      return;
    case 'extend':
      options[i] = { ...option, value: Uint8Array.from([...value, ...m.extra]) };
      return;
    case 'drop':
      options.splice(i, 1);
      return;
    case 'repeat':
      options.splice(i, 0, option);
  }
}

/**
 * Golden-vector messages with option values flipped, cut or extended, and options dropped or repeated, then
 * re-encoded: always valid at the message layer, so every case reaches the PCAN decoders.
 */
export const hostileMessageArb: fc.Arbitrary<Uint8Array> = fc
  .tuple(fc.constantFrom(...seedMessages), fc.array(optionMutation, { minLength: 1, maxLength: 4 }))
  .map(([seed, mutations]) => {
    const options = [...seed.options];
    for (const m of mutations) mutate(options, m);
    return encodeMessage({ ...seed, options });
  });

export const hostileBytesArb: fc.Arbitrary<Uint8Array> = fc.oneof(
  hostileMessageArb,
  fc.uint8Array({ maxLength: 300 }),
);
