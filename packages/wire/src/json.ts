import { WireError } from './errors.js';
import {
  flagsFromObject,
  flagsToObject,
  type Fragment,
  type FragmentInit,
  type FlagName,
} from './fragment.js';
import { fromHex, toHex } from './hex.js';
import type { Message, XppOption } from './message.js';

/** The JSON form of a fragment (what `xpp-wire decode` prints and `xpp-wire encode` reads). */
export interface FragmentJson {
  version: number;
  flags: Record<Lowercase<FlagName>, boolean>;
  seq: number;
  localId: number;
  remoteId: number;
  /** Lower-case hex. */
  payload: string;
}

/** The JSON form of a message. Option values are lower-case hex. */
export interface MessageJson {
  number: number;
  response: boolean;
  type: number;
  options: { type: number; mandatory: boolean; value: string }[];
}

export function fragmentToJson(fragment: Fragment): FragmentJson {
  return {
    version: fragment.version,
    flags: flagsToObject(fragment.flags),
    seq: fragment.seq,
    localId: fragment.localId,
    remoteId: fragment.remoteId,
    payload: toHex(fragment.payload),
  };
}

export function messageToJson(message: Message): MessageJson {
  return {
    number: message.number,
    response: message.response,
    type: message.type,
    options: message.options.map((o) => ({ type: o.type, mandatory: o.mandatory, value: toHex(o.value) })),
  };
}

type JsonObject = Record<string, unknown>;

function asObject(value: unknown, where: string): JsonObject {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new WireError('BAD_JSON', `${where} must be a JSON object`);
  }
  return value as JsonObject;
}

function onlyKeys(object: JsonObject, allowed: readonly string[], where: string): void {
  for (const key of Object.keys(object)) {
    if (!allowed.includes(key)) throw new WireError('BAD_JSON', `${where} has an unknown field "${key}"`);
  }
}

function integer(object: JsonObject, key: string, where: string, fallback?: number): number {
  const value = object[key] ?? fallback;
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    throw new WireError('BAD_JSON', `${where}.${key} must be an integer`);
  }
  return value;
}

function boolean(object: JsonObject, key: string, where: string, fallback?: boolean): boolean {
  const value = object[key] ?? fallback;
  if (typeof value !== 'boolean') throw new WireError('BAD_JSON', `${where}.${key} must be true or false`);
  return value;
}

function hexField(object: JsonObject, key: string, where: string): Uint8Array {
  const value = object[key] ?? '';
  if (typeof value !== 'string') throw new WireError('BAD_JSON', `${where}.${key} must be a hex string`);
  return fromHex(value);
}

const FLAG_NAMES = ['syn', 'ack', 'rel', 'lfr', 'kpa'] as const;

/** Reads the JSON form of a fragment, strictly: unknown fields and wrong types are `BAD_JSON`. */
export function fragmentFromJson(json: unknown): FragmentInit {
  const object = asObject(json, 'fragment');
  onlyKeys(object, ['version', 'flags', 'seq', 'localId', 'remoteId', 'payload'], 'fragment');
  const flagsObject = asObject(object['flags'] ?? {}, 'fragment.flags');
  onlyKeys(flagsObject, FLAG_NAMES, 'fragment.flags');
  const flags: Partial<Record<(typeof FLAG_NAMES)[number], boolean>> = {};
  for (const name of FLAG_NAMES) flags[name] = boolean(flagsObject, name, 'fragment.flags', false);
  return {
    version: integer(object, 'version', 'fragment', 1),
    flags: flagsFromObject(flags),
    seq: integer(object, 'seq', 'fragment'),
    localId: integer(object, 'localId', 'fragment'),
    remoteId: integer(object, 'remoteId', 'fragment'),
    payload: hexField(object, 'payload', 'fragment'),
  };
}

/** Reads the JSON form of a message, strictly. */
export function messageFromJson(json: unknown): Message {
  const object = asObject(json, 'message');
  onlyKeys(object, ['number', 'response', 'type', 'options'], 'message');
  const rawOptions = object['options'] ?? [];
  if (!Array.isArray(rawOptions)) throw new WireError('BAD_JSON', 'message.options must be an array');
  const options: XppOption[] = rawOptions.map((raw: unknown, i) => {
    const where = `message.options[${i}]`;
    const option = asObject(raw, where);
    onlyKeys(option, ['type', 'mandatory', 'value'], where);
    return {
      type: integer(option, 'type', where),
      mandatory: boolean(option, 'mandatory', where, false),
      value: hexField(option, 'value', where),
    };
  });
  return {
    number: integer(object, 'number', 'message'),
    response: boolean(object, 'response', 'message', false),
    type: integer(object, 'type', 'message'),
    options,
  };
}

/** `JSON.parse` that fails with `BAD_JSON` instead of a `SyntaxError`. */
export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (cause) {
    throw new WireError('BAD_JSON', `not JSON: ${(cause as Error).message}`, { cause });
  }
}
