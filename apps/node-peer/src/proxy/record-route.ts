import { createHmac, createSecretKey, randomBytes, timingSafeEqual, type KeyObject } from 'node:crypto';
import {
  parseNameAddr,
  parseSipUri,
  tagOf,
  type SipRequest,
  type SipTransportName,
  type TransportAddress,
} from '@xpp/session-sdp';
import { flowRouteUri } from './flow-route.js';
import { recordRouteValue } from './forwarding.js';

/** Octets of a Record-Route key (HMAC-SHA-256); shorter keys are refused. */
export const RECORD_ROUTE_KEY_SIZE = 32;
/** The Record-Route URI parameter that carries the token. */
export const RECORD_ROUTE_PARAM = 'xpp-rr';
/** Octets of HMAC kept in a token: 128 bits, 22 base64url characters. */
const TOKEN_OCTETS = 16;

/**
 * The Record-Route this proxy puts on dialog-creating requests, and the check that a Route header is one of them
 * (docs/decisions/node-peer-proxy.md, "Policy"). The URI carries `xpp-rr=<token>`, an HMAC over the Call-ID and the
 * From tag of the request that created the dialog (its To tag does not exist yet) with a key only this node holds:
 * an in-dialog request is recognised by the token, never by the address alone, so a Route naming this node that
 * an outsider wrote cannot steer it. In-dialog requests of the callee's direction carry that tag as their To tag.
 */
export class RecordRouteSigner {
  readonly #key: KeyObject;

  constructor(key: Uint8Array = randomBytes(RECORD_ROUTE_KEY_SIZE)) {
    if (key.length < RECORD_ROUTE_KEY_SIZE)
      throw new RangeError(`a Record-Route key needs ${RECORD_ROUTE_KEY_SIZE} octets, got ${key.length}`);
    this.#key = createSecretKey(key);
  }

  /**
   * `<sip:ip:port;lr;xpp-rr=token>` for `request` at `self` (RFC 3261 §16.6 step 4, loose routing), with
   * `;transport=tcp|tls|ws|wss` when the client side of the dialog reaches this node over a stream (RFC 3261 §16.6: the URI
   * must reach this proxy the way the UA will send).
   */
  value(request: SipRequest, self: TransportAddress, transport?: Exclude<SipTransportName, 'UDP'>): string {
    const token = this.#token(request.headers.get('call-id') ?? '', fromTag(request) ?? '');
    const via = transport === undefined ? '' : `;transport=${transport.toLowerCase()}`;
    return recordRouteValue(self, `${via};${RECORD_ROUTE_PARAM}=${token.toString('base64url')}`);
  }

  /**
   * The Record-Route of a peer behind a NAT toward the overlay: its flow route through `holder` (flow-route.ts) with
   * the token, so that in-dialog requests from other peers reach it through the holder.
   */
  flowValue(request: SipRequest, peerIdHex: string, holder: TransportAddress): string {
    const token = this.#token(request.headers.get('call-id') ?? '', fromTag(request) ?? '');
    return `<${flowRouteUri(peerIdHex, holder, `;${RECORD_ROUTE_PARAM}=${token.toString('base64url')}`)}>`;
  }

  /**
   * Whether `route` (a Route value naming this node) carries a token this node made for the dialog of `request`:
   * over its Call-ID and its From tag (the caller's direction) or its To tag (the callee's).
   */
  recognises(route: string, request: SipRequest): boolean {
    const uri = parseNameAddr(route)?.uri;
    const param = uri === undefined ? undefined : parseSipUri(uri)?.params.get(RECORD_ROUTE_PARAM);
    if (typeof param !== 'string') return false;
    const presented = Buffer.from(param, 'base64url');
    if (presented.length !== TOKEN_OCTETS) return false;
    const callId = request.headers.get('call-id') ?? '';
    for (const tag of [fromTag(request), tagOf(request.headers.get('to'))]) {
      if (tag !== undefined && timingSafeEqual(presented, this.#token(callId, tag))) return true;
    }
    return false;
  }

  #token(callId: string, tag: string): Buffer {
    // Length-prefixed so that no (Call-ID, tag) pair reads as another.
    return createHmac('sha256', this.#key)
      .update(`${callId.length}:${callId}\n${tag}`)
      .digest()
      .subarray(0, TOKEN_OCTETS);
  }
}

function fromTag(request: SipRequest): string | undefined {
  return tagOf(request.headers.get('from'));
}
