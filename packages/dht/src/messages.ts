import { ErrorCode, Option, WireError, type OptionType, type XppOption } from '@xpp/wire';
import { DhtError } from './errors.js';
import type { RecordKind } from './kinds.js';
import { DhtOperation } from './operations.js';
import { DhtOption } from './options.js';
import { readRecords, readValue, recordOptions, valueOptions } from './records.js';
import type { SessionOffer } from './relay-values.js';
import type { BindingId, NeighbourInfo, WireRecord } from './values.js';

// Typed bodies of the XPP-PCAN operations ↔ their options. Every decoder throws `WireError` only: a missing
// option is `MISSING_OPTION`, a non-repeatable option given twice is `BAD_VALUE`.

/** The value of the only option of `type`; absent → undefined; twice → `BAD_VALUE`. */
function single<T>(type: OptionType<T>, options: readonly XppOption[]): T | undefined {
  let found: XppOption | undefined;
  for (const option of options) {
    if (option.type !== type.type) continue;
    if (found !== undefined) throw new WireError('BAD_VALUE', `option ${type.name} appears more than once`);
    found = option;
  }
  return found === undefined ? undefined : type.decode(found);
}

function required<T>(type: OptionType<T>, options: readonly XppOption[]): T {
  const value = single(type, options);
  if (value === undefined) throw new WireError('MISSING_OPTION', `required option ${type.name} is absent`);
  return value;
}

function flag(type: OptionType<true>, options: readonly XppOption[]): boolean {
  return single(type, options) === true;
}

/** PCAN options are mandatory: a peer that does not know one must refuse the request (420), not ignore it. */
function opt<T>(type: OptionType<T>, value: T): XppOption {
  return type.option(value, true);
}

export interface RouteRequest {
  /** Encoded target point. */
  readonly target: Uint8Array;
  readonly hopLimit: number;
  /** Operation type of the inner request. */
  readonly operation: number;
  /** The inner request's options, carried after the ROUTE's own. */
  readonly inner: readonly XppOption[];
}

const ROUTE_OWN_TYPES: ReadonlySet<number> = new Set([
  DhtOption.TARGET.type,
  DhtOption.HOP_LIMIT.type,
  DhtOption.ROUTED_OPERATION.type,
]);

export function encodeRoute(body: RouteRequest): XppOption[] {
  return [
    opt(DhtOption.TARGET, body.target),
    opt(DhtOption.HOP_LIMIT, body.hopLimit),
    opt(DhtOption.ROUTED_OPERATION, body.operation),
    ...body.inner,
  ];
}

/** A ROUTE inside a ROUTE is malformed (`BAD_VALUE`): one hop limit governs the whole path. */
export function decodeRoute(options: readonly XppOption[]): RouteRequest {
  const operation = required(DhtOption.ROUTED_OPERATION, options);
  if (operation === DhtOperation.ROUTE.type) throw new WireError('BAD_VALUE', 'a ROUTE cannot carry a ROUTE');
  return {
    target: required(DhtOption.TARGET, options),
    hopLimit: required(DhtOption.HOP_LIMIT, options),
    operation,
    inner: options.filter((o) => !ROUTE_OWN_TYPES.has(o.type)),
  };
}

/** PUT: store `value` under (key, kind) for `lifetime` seconds. */
export interface PutRequest {
  readonly key: string;
  readonly kind: RecordKind;
  readonly value: Uint8Array;
  readonly lifetime: number;
  /** Sent to a replica holder directly (not to the owner). */
  readonly replica?: boolean;
}

export function encodePut(body: PutRequest): XppOption[] {
  const options = [
    opt(DhtOption.KEY, body.key),
    opt(DhtOption.KIND, body.kind),
    opt(DhtOption.LIFETIME, body.lifetime),
  ];
  if (body.replica === true) options.push(opt(DhtOption.REPLICA, true as const));
  for (const option of valueOptions(body.value)) options.push(option);
  return options;
}

export function decodePut(options: readonly XppOption[]): PutRequest {
  const value = readValue(options);
  if (value === undefined) throw new WireError('MISSING_OPTION', 'required option VALUE is absent');
  // Built field by field: object spread is markedly slower on this hot path.
  const body: { -readonly [K in keyof PutRequest]: PutRequest[K] } = {
    key: required(DhtOption.KEY, options),
    kind: required(DhtOption.KIND, options),
    lifetime: required(DhtOption.LIFETIME, options),
    value,
  };
  if (flag(DhtOption.REPLICA, options)) body.replica = true;
  return body;
}

/** PUT response: the lifetime granted (the request's, capped by the store's maximum). */
export interface PutResponse {
  readonly lifetime: number;
}

export function encodePutResponse(body: PutResponse): XppOption[] {
  return [opt(DhtOption.LIFETIME, body.lifetime)];
}

export function decodePutResponse(options: readonly XppOption[]): PutResponse {
  return { lifetime: required(DhtOption.LIFETIME, options) };
}

/** GET: the live records under (key, kind). */
export interface GetRequest {
  readonly key: string;
  readonly kind: RecordKind;
}

export function encodeGet(body: GetRequest): XppOption[] {
  return [opt(DhtOption.KEY, body.key), opt(DhtOption.KIND, body.kind)];
}

export function decodeGet(options: readonly XppOption[]): GetRequest {
  return { key: required(DhtOption.KEY, options), kind: required(DhtOption.KIND, options) };
}

/** GET response (and any list of records): the records in RECORD options. */
export interface RecordsBody {
  readonly records: readonly WireRecord[];
}

export function encodeRecords(body: RecordsBody): XppOption[] {
  return recordOptions(body.records);
}

export function decodeRecords(options: readonly XppOption[], maxRecords?: number): RecordsBody {
  return { records: readRecords(options, maxRecords) };
}

/** REMOVE: every record under (key, kind), or one binding of an AOR. */
export interface RemoveRequest {
  readonly key: string;
  readonly kind: RecordKind;
  readonly bindingId?: BindingId;
  readonly replica?: boolean;
}

export function encodeRemove(body: RemoveRequest): XppOption[] {
  return [
    opt(DhtOption.KEY, body.key),
    opt(DhtOption.KIND, body.kind),
    ...(body.bindingId === undefined ? [] : [opt(DhtOption.BINDING_ID, body.bindingId)]),
    ...(body.replica === true ? [opt(DhtOption.REPLICA, true as const)] : []),
  ];
}

export function decodeRemove(options: readonly XppOption[]): RemoveRequest {
  const bindingId = single(DhtOption.BINDING_ID, options);
  const replica = flag(DhtOption.REPLICA, options);
  return {
    key: required(DhtOption.KEY, options),
    kind: required(DhtOption.KIND, options),
    ...(bindingId === undefined ? {} : { bindingId }),
    ...(replica ? { replica } : {}),
  };
}

/**
 * A zone handoff: JOIN (the inviting peer gives the newcomer `zones` = the upper half), LEAVE (a leaving peer
 * gives its zones to the taker). Carries the records in those zones and the neighbours of those zones.
 */
export interface HandoffRequest {
  readonly zones: readonly Uint8Array[];
  readonly neighbours: readonly NeighbourInfo[];
  readonly records: readonly WireRecord[];
  /** LEAVE only: the records of zones the receiver owns already, no zone handed (option RETURN). */
  readonly returned?: boolean;
}

export function encodeHandoff(body: HandoffRequest): XppOption[] {
  return [
    ...body.zones.map((zone) => opt(DhtOption.ZONE, zone)),
    ...body.neighbours.map((n) => opt(DhtOption.NEIGHBOUR, n)),
    ...recordOptions(body.records),
    ...(body.returned === true ? [opt(DhtOption.RETURN, true)] : []),
  ];
}

export function decodeHandoff(options: readonly XppOption[], maxRecords?: number): HandoffRequest {
  const zones = DhtOption.ZONE.findAll(options);
  if (zones.length === 0) throw new WireError('MISSING_OPTION', 'required option ZONE is absent');
  const body = {
    zones,
    neighbours: DhtOption.NEIGHBOUR.findAll(options),
    records: readRecords(options, maxRecords),
  };
  return DhtOption.RETURN.find(options) === true ? { ...body, returned: true } : body;
}

/** NEIGHBOUR-UPDATE: peers (the sender, or a newcomer it invited) with their current zones and contact. */
export interface NeighbourUpdateRequest {
  /** The sender first, then its neighbours (all of them, or only the changed ones when `partial`). */
  readonly neighbours: readonly NeighbourInfo[];
  /** The list is a delta to merge with the sender's previous one (option PARTIAL). */
  readonly partial?: boolean;
}

export function encodeNeighbourUpdate(body: NeighbourUpdateRequest): XppOption[] {
  const options = body.neighbours.map((n) => opt(DhtOption.NEIGHBOUR, n));
  if (body.partial === true) options.push(opt(DhtOption.PARTIAL, true));
  return options;
}

export function decodeNeighbourUpdate(options: readonly XppOption[]): NeighbourUpdateRequest {
  const neighbours = DhtOption.NEIGHBOUR.findAll(options);
  if (neighbours.length === 0) throw new WireError('MISSING_OPTION', 'required option NEIGHBOUR is absent');
  return DhtOption.PARTIAL.find(options) === true ? { neighbours, partial: true } : { neighbours };
}

/** TAKEOVER: the sender claims the zones of the dead peer `deadPeer`. */
export interface TakeoverRequest {
  readonly deadPeer: Uint8Array;
  readonly zones: readonly Uint8Array[];
}

export function encodeTakeover(body: TakeoverRequest): XppOption[] {
  return [opt(DhtOption.PEER_ID, body.deadPeer), ...body.zones.map((zone) => opt(DhtOption.ZONE, zone))];
}

export function decodeTakeover(options: readonly XppOption[]): TakeoverRequest {
  const zones = DhtOption.ZONE.findAll(options);
  if (zones.length === 0) throw new WireError('MISSING_OPTION', 'required option ZONE is absent');
  return { deadPeer: required(DhtOption.PEER_ID, options), zones };
}

/**
 * The options of a response that refuses a request: ERROR with the code `error` maps to (a `DhtError`'s status;
 * 400 for any `WireError`, the request being malformed) and its message as the reason, plus RETRY-AFTER for a 503
 * when `retryAfter` (seconds) is given.
 */
export function refusalOptions(error: DhtError | WireError, retryAfter?: number): XppOption[] {
  const code = DhtError.is(error) ? error.status : ErrorCode.BAD_REQUEST;
  // A reason is for people; keep it well inside one option.
  const reason = error.message.slice(0, 512);
  const options = [Option.ERROR.option({ code, reason })];
  if (code === ErrorCode.OVERLOADED && retryAfter !== undefined)
    options.push(Option.RETRY_AFTER.option(retryAfter));
  return options;
}

/**
 * RELAY-CONNECT: PEER-ID (to the relay: the peer to reach; from the relay: the offerer) and SESSION-OFFER. Its
 * response is SESSION-ANSWER.
 */
export interface RelayConnectRequest {
  readonly peer: Uint8Array;
  readonly offer: SessionOffer;
}

export function encodeRelayConnect(body: RelayConnectRequest): XppOption[] {
  return [opt(DhtOption.PEER_ID, body.peer), opt(DhtOption.SESSION_OFFER, body.offer)];
}

export function decodeRelayConnect(options: readonly XppOption[]): RelayConnectRequest {
  return { peer: required(DhtOption.PEER_ID, options), offer: required(DhtOption.SESSION_OFFER, options) };
}

export function encodeRelayConnectResponse(answer: string): XppOption[] {
  return [opt(DhtOption.SESSION_ANSWER, answer)];
}

export function decodeRelayConnectResponse(options: readonly XppOption[]): string {
  return required(DhtOption.SESSION_ANSWER, options);
}
