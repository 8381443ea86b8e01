import { isIP } from 'node:net';
import {
  ackForFailure,
  branchOf,
  formatHost,
  headerKey,
  parseNameAddr,
  parseSipUri,
  parseVia,
  responseTarget,
  SipHeaders,
  type SipResponse,
  type SipTransactionLayer,
  type SipAddress,
  type SipRequest,
  type TransportAddress,
} from '@xpp/session-sdp';

/** Max-Forwards a proxy puts on a request that carries none (RFC 3261 §16.6 step 3). */
export const DEFAULT_MAX_FORWARDS = 70;

/** A copy of `headers` without the first value of `name` (the top Via of a response, the top Route). */
export function withoutFirst(headers: SipHeaders, name: string): SipHeaders {
  const key = headerKey(name);
  const out = new SipHeaders();
  let skipped = false;
  for (const h of headers) {
    if (!skipped && headerKey(h.name) === key) {
      skipped = true;
      continue;
    }
    out.append(h.name, h.value);
  }
  return out;
}

/**
 * The Max-Forwards of a request (RFC 3261 §16.3 step 3); absent counts as {@link DEFAULT_MAX_FORWARDS}, and so
 * does a value past 255 (RFC 4475 §3.1.2.4: the codec takes leading zeros, `0068`, so it lets up to 10 digits by).
 */
export function maxForwardsOf(request: SipRequest): number {
  const value = request.headers.get('max-forwards');
  const hops = value === undefined ? DEFAULT_MAX_FORWARDS : Number(value);
  return hops > MAX_MAX_FORWARDS ? DEFAULT_MAX_FORWARDS : hops;
}

/** The largest Max-Forwards taken as given (RFC 3261 §20.22 suggests 70; 255 is the customary bound). */
const MAX_MAX_FORWARDS = 255;

/** The address a SIP URI with an IP host names (port 5060 by default), or undefined. */
export function uriTarget(uri: string): SipAddress | undefined {
  const parsed = parseSipUri(uri);
  if (parsed === undefined || isIP(parsed.host) === 0) return undefined;
  // RFC 3263 §4.1 for a numeric host: `transport=` picks it, `sips:` means TLS (port 5061 by default).
  const param = parsed.params.get('transport');
  const named = typeof param === 'string' ? param.toUpperCase() : undefined;
  const transport = parsed.scheme === 'sips' ? 'TLS' : named === 'TCP' || named === 'TLS' ? named : undefined;
  const port = parsed.port ?? (transport === 'TLS' ? 5061 : 5060);
  return transport === undefined ? { address: parsed.host, port } : { address: parsed.host, port, transport };
}

/** True when the URI of a Route / Record-Route value points at `self` (same IP and port). */
export function routesTo(route: string, self: TransportAddress): boolean {
  const uri = parseNameAddr(route)?.uri;
  const target = uri === undefined ? undefined : uriTarget(uri);
  return target !== undefined && target.address === self.address && target.port === self.port;
}

/**
 * The Record-Route (and Route) value that names this proxy: loose routing (RFC 3261 §16.6 step 4), with `params`
 * (`;name=value…`) after `lr`.
 */
export function recordRouteValue(self: TransportAddress, params = ''): string {
  return `<sip:${formatHost(self.address)}:${self.port};lr${params}>`;
}

/**
 * The request as this proxy sends it on (RFC 3261 §16.6): its Request-URI (possibly retargeted), Max-Forwards
 * decremented, our Via on top, our Record-Route when the request may create a dialog — one value, or the two of an
 * RFC 5658 double Record-Route, top first — and the top Route removed when it named us (done by the caller before).
 */
export function forwardedRequest(
  request: SipRequest,
  init: { uri: string; via: string; recordRoute?: string | readonly string[] },
): SipRequest {
  const headers = request.headers.clone();
  headers.set('Max-Forwards', String(maxForwardsOf(request) - 1));
  headers.prepend('Via', init.via);
  const recordRoutes = typeof init.recordRoute === 'string' ? [init.recordRoute] : (init.recordRoute ?? []);
  for (const value of [...recordRoutes].reverse()) headers.prepend('Record-Route', value);
  return { ...request, uri: init.uri, headers };
}

/**
 * RFC 3261 §9.1: the CANCEL of a forwarded INVITE — the header set of the INVITE's own ACK (§17.1.1.3: top Via,
 * Route, From, Call-ID) with the INVITE's To and a CANCEL CSeq of the same number.
 */
export function cancelFor(invite: SipRequest): SipRequest {
  const ack = ackForFailure(invite, {
    kind: 'response',
    status: 487,
    reason: '',
    headers: invite.headers,
    body: new Uint8Array(0),
  });
  const headers = ack.headers.set('CSeq', (ack.headers.get('cseq') ?? '').replace(/ACK$/, 'CANCEL'));
  return { ...ack, method: 'CANCEL', headers };
}

/** The transaction a request belongs to, as its client named it: top Via branch and sent-by (RFC 3261 §17.2.3). */
export function transactionKeyOf(request: SipRequest): string | undefined {
  const via = parseVia(request.headers.get('via') ?? '');
  const branch = via === undefined ? undefined : branchOf(via);
  return via === undefined || branch === undefined ? undefined : `${branch}|${via.host}:${via.port ?? 5060}`;
}

/**
 * A response that matched no client transaction: a retransmitted 2xx of an INVITE we forwarded (its client
 * transaction ended at the first 2xx, §17.1.1.2) goes on statelessly to the next Via (§16.7 step 10, §16.11).
 * Returns false for anything else (the overlay's own responses carry only our Via).
 */
export function relayStrayResponse(layer: SipTransactionLayer, response: SipResponse): boolean {
  const vias = response.headers.getAll('via');
  const top = parseVia(vias[0] ?? '');
  const next = parseVia(vias[1] ?? '');
  // A dual-stack peer's Via names its address of the family it sent to (the layer's localFor).
  const self =
    top === undefined ? layer.local : (layer.localFor('UDP', isIP(top.host) === 6 ? 6 : 4) ?? layer.local);
  if (
    top === undefined ||
    next === undefined ||
    top.host !== self.address ||
    (top.port ?? 5060) !== self.port
  )
    return false;
  const target = responseTarget(next);
  // RFC 4475 §3.3.10 (bcast): a next Via naming a broadcast or multicast address would have us spray the response
  // at a whole network. Dropped, and counted by the layer as the stray response it is.
  if (!isUnicast(target.address)) return false;
  try {
    layer.sendStateless({ ...response, headers: withoutFirst(response.headers, 'via') }, target);
  } catch {
    // Counted by the layer (sendErrors); the UAS retransmits its 2xx.
  }
  return true;
}

/**
 * Whether an address names one host: not the unspecified address, not IPv4 broadcast (255.255.255.255), multicast
 * (224/4) or reserved (240/4), not IPv6 multicast (ff00::/8). A host name counts as unicast (it is looked up).
 */
export function isUnicast(address: string): boolean {
  const family = isIP(address);
  if (family === 4) {
    const first = Number(address.slice(0, address.indexOf('.')));
    return address !== '0.0.0.0' && first < 224;
  }
  if (family === 6) return !/^ff/i.test(address) && !/^[0:]+$/.test(address);
  return true;
}
