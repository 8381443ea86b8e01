import { normaliseAor } from '@xpp/dht';
import { formatSipUri, parseNameAddr, parseSipUri, type SipRequest } from '@xpp/session-sdp';
import type { Flow, FlowTable } from '../registrar/flows.js';

/**
 * The Request-URI parameter naming the AOR a request was retargeted for, when a peer sends it to the peer holding
 * the binding's flow: the contact alone does not say whose registration it belongs to (two users may register the
 * same contact URI). The flow peer removes it before the request goes over the flow.
 */
export const XPP_AOR_PARAM = 'xpp-aor';

/** `contact` marked as retargeted for `aor` (base64url: URI parameter characters only). */
export function retargetedFor(contact: string, aor: string): string {
  const uri = parseSipUri(contact);
  if (uri === undefined) return contact;
  const params = new Map(uri.params);
  params.set(XPP_AOR_PARAM, Buffer.from(aor, 'utf8').toString('base64url'));
  return formatSipUri({ ...uri, params });
}

/**
 * Whether a peer retargeted `request` to one of our flows for an AOR ({@link XPP_AOR_PARAM}): when no flow here
 * matches, that flow died (this node restarted and its flows with it) and the answer is 430, not a relay refusal.
 */
export function retargetedByPeer(request: SipRequest): boolean {
  const marked = parseSipUri(request.uri)?.params.get(XPP_AOR_PARAM);
  return typeof marked === 'string' && aorOf(Buffer.from(marked, 'base64url').toString('utf8')) !== undefined;
}

/**
 * The flow a request addressed to a contact belongs to, and the Request-URI to send over it (without our marker):
 * - retargeted by a peer for an AOR ({@link XPP_AOR_PARAM}): that AOR's flow with this contact;
 * - within a dialog (To has a tag): the flow with this contact of one of the dialog's parties (From or To);
 * - anything else — out of any dialog, naming no registration — is delivered to no flow.
 * Never the flow of another AOR that registered the same contact URI.
 */
export function flowForRequest(
  flows: FlowTable,
  request: SipRequest,
): { flow: Flow; uri: string } | undefined {
  const uri = parseSipUri(request.uri);
  if (uri === undefined) return undefined;
  const marked = uri.params.get(XPP_AOR_PARAM);
  if (marked !== undefined) {
    const aor = marked === null ? undefined : aorOf(Buffer.from(marked, 'base64url').toString('utf8'));
    const params = new Map(uri.params);
    params.delete(XPP_AOR_PARAM);
    const flow = aor === undefined ? undefined : flows.ofAorContact(aor, request.uri);
    return flow === undefined ? undefined : { flow, uri: formatSipUri({ ...uri, params }) };
  }
  const to = request.headers.get('to') ?? '';
  const tag = parseNameAddr(to)?.params.get('tag');
  if (typeof tag !== 'string' || tag === '') return undefined;
  const parties = new Set([aorOf(to), aorOf(request.headers.get('from') ?? '')]);
  const flow = flows.withContact(request.uri).find((f) => parties.has(f.aor));
  return flow === undefined ? undefined : { flow, uri: request.uri };
}

function aorOf(value: string): string | undefined {
  try {
    return normaliseAor(value);
  } catch {
    return undefined;
  }
}
