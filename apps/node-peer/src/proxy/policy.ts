import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { normaliseAor } from '@xpp/dht';
import { parseNameAddr, parseSipUri, type SipRequest, type TransportAddress } from '@xpp/session-sdp';
import type { FlowTable } from '../registrar/flows.js';
import { routesTo, uriTarget } from './forwarding.js';

/**
 * Whom a Request-URI names, for the proxy's policy (docs/decisions/node-peer-proxy.md, "Policy"): this node as a
 * server (no user part, host the domain or this node's own address), a user of the served domain (the domain, or a
 * user at this node's address), another domain, a SIP URI we cannot read, or another scheme (`tel:`…).
 */
export type Addressee =
  | { readonly kind: 'server' }
  | { readonly kind: 'domain'; readonly aor: string }
  | { readonly kind: 'foreign' }
  | { readonly kind: 'bad-uri' }
  | { readonly kind: 'other-scheme' };

export function addresseeOf(uri: string, domain: string, self: TransportAddress): Addressee {
  const parsed = parseSipUri(uri);
  if (parsed === undefined) return { kind: /^sips?:/i.test(uri) ? 'bad-uri' : 'other-scheme' };
  const host = parsed.host.toLowerCase();
  const ours = host === domain.toLowerCase();
  const atSelf = !ours && host === self.address.toLowerCase() && (parsed.port ?? 5060) === self.port;
  if (!ours && !atSelf) return { kind: 'foreign' };
  if (parsed.user === undefined) return { kind: 'server' };
  try {
    return { kind: 'domain', aor: normaliseAor(ours ? uri : `sip:${parsed.user}@${domain}`) };
  } catch {
    return { kind: 'bad-uri' };
  }
}

/**
 * Whether a Route value names this node: its own address and port, or the served domain (a client whose outbound
 * proxy is set to the domain's name, RFC 3261 §8.1.2) at this node's port or none.
 */
export function routeNamesUs(route: string, domain: string, self: TransportAddress): boolean {
  if (routesTo(route, self)) return true;
  const uri = parseSipUri(parseNameAddr(route)?.uri ?? '');
  return (
    uri !== undefined &&
    uri.host.toLowerCase() === domain.toLowerCase() &&
    (uri.port ?? self.port) === self.port
  );
}

/**
 * Whether `request` comes from a client registered here (a user of the domain whose flow this peer holds), on that
 * flow: its From AOR has a flow whose source is the request's source. Nothing here authenticates the request
 * (authenticated calls are issue 17's item 2); holding the flow is what makes a caller "local".
 */
export function fromLocalUser(request: SipRequest, source: TransportAddress, flows: FlowTable): boolean {
  const from = parseNameAddr(request.headers.get('from') ?? '')?.uri;
  let aor: string;
  try {
    aor = normaliseAor(from ?? '');
  } catch {
    return false;
  }
  return flows
    .ofAor(aor)
    .some((flow) => flow.source.address === source.address && flow.source.port === source.port);
}

/**
 * The address a Request-URI of another domain is sent to: its IP literal, else its host name looked up (A/AAAA in
 * the family of this node's socket; RFC 3263 NAPTR/SRV are not used), port 5060 unless given. Undefined when the
 * name does not resolve.
 */
export async function resolveUri(uri: string, self: TransportAddress): Promise<TransportAddress | undefined> {
  const direct = uriTarget(uri);
  if (direct !== undefined) return direct;
  const parsed = parseSipUri(uri);
  if (parsed === undefined) return undefined;
  try {
    const found = await lookup(parsed.host, { family: isIP(self.address) === 6 ? 6 : 4 });
    return { address: found.address, port: parsed.port ?? 5060 };
  } catch {
    return undefined;
  }
}
