import { bindingSubkey, type Binding, type LocationService } from '@xpp/dht';
import type { SipAddress } from '@xpp/session-sdp';
import type { FlowTable } from '../registrar/flows.js';
import { retargetedFor } from './flow-match.js';
import { uriTarget } from './forwarding.js';
import type { ProxyRejection } from './rejections.js';

/** Where the proxy sends a request: the Request-URI it forwards with and the address it goes to. */
export interface ProxyRoute {
  readonly uri: string;
  readonly target: SipAddress;
  /** The flow peer the target was read from (its cached PEER record is dropped when it does not answer). */
  readonly flowPeer?: string;
  /**
   * For a request to an AOR: the chosen binding (`bindingSubkey`) and those passed over already. A 430 from the flow
   * peer (RFC 5626 §5.3) sends the request to the AOR's next binding instead of upstream.
   */
  readonly failover?: { readonly binding: string; readonly skip: ReadonlySet<string> };
}

/** What a lookup of an AOR reads: the overlay, the flows this peer holds, and which peer this is. */
export interface LocateContext {
  readonly location: LocationService;
  readonly flows: FlowTable;
  /** This peer's id, hex: bindings whose flow peer it is are forwarded over the local flow. */
  readonly peerIdHex: string;
}

/**
 * Where a request for `aor` goes: the binding refreshed last, over its flow here or through its flow peer; the
 * bindings in `skip` (their flow peer answered 430) are passed over. Rejects as the location service does.
 */
export async function locateAor(
  context: LocateContext,
  aor: string,
  skip: ReadonlySet<string>,
): Promise<ProxyRoute | ProxyRejection> {
  const bindings = await context.location.lookup(aor);
  if (bindings.length === 0)
    return (await context.location.credential(aor)) === undefined ? 'unknown-user' : 'no-binding';
  // A binding over a flow that died (here, or a flow peer answered 430) is passed over: the client's other flow
  // (reg-id) takes the request (RFC 5626 §4.2); when every binding's flow died, 430.
  const live = bindings.filter((b) => !skip.has(bindingSubkey(b)) && !failedHere(context, aor, b));
  if (live.length === 0) return 'flow-failed';
  // No forking: the binding with the most time left, the latest stored on a tie (docs/decisions/node-peer-proxy.md).
  const best = live.reduce((a, b) => (b.expires >= a.expires ? b : a));
  const flowPeer = Buffer.from(best.flowPeer).toString('hex');
  const failover = { binding: bindingSubkey(best), skip };
  if (flowPeer === context.peerIdHex) {
    const target = context.flows.get(aor, best)?.source ?? uriTarget(best.contact);
    return target === undefined ? 'no-binding' : { uri: best.contact, target, failover };
  }
  const peer = await context.location.peer(flowPeer);
  const target = peer === undefined ? undefined : uriTarget(peer.contact.uri);
  // The flow peer learns whose registration the contact is for from the Request-URI (flow-match.ts).
  return target === undefined
    ? 'no-flow-peer'
    : { uri: retargetedFor(best.contact, aor), target, flowPeer, failover };
}

/** Whether `binding` is over a flow of this peer that died. */
function failedHere(context: LocateContext, aor: string, binding: Binding): boolean {
  return (
    Buffer.from(binding.flowPeer).toString('hex') === context.peerIdHex &&
    context.flows.get(aor, binding)?.failed === true
  );
}
