import type { Binding, LocationService, RegisteredBinding } from '@xpp/dht';
import type { SipAddress, TransportAddress } from '@xpp/session-sdp';
import type { FlowTable } from '../registrar/flows.js';
import { DEFAULT_Q } from './fork.js';
import { retargetedFor } from './flow-match.js';
import { parseFlowRoute } from './flow-route.js';
import { uriTarget } from './forwarding.js';

/** Where a request for one binding of an AOR is sent. */
export interface BindingRoute {
  readonly uri: string;
  readonly target: SipAddress;
  /** The flow peer the target was read from (its cached PEER record is dropped when it does not answer). */
  readonly flowPeer?: string;
  /** A Route to put on top: the flow route of a NATed flow peer, through its holder (flow-route.ts). */
  readonly route?: string;
}

export interface BindingRouteContext {
  readonly aor: string;
  readonly peerIdHex: string;
  readonly flows: FlowTable;
  readonly location: Pick<LocationService, 'peer'>;
  /** Whether an address is this node's SIP address (a flow route through us). */
  readonly isSelf?: (address: TransportAddress) => boolean;
  /** The source of the flow a NATed peer keeps to this node, when it keeps one. */
  readonly peerFlow?: (peer: string) => TransportAddress | undefined;
}

/** A binding's route: over its flow here, or through its flow peer (read from the overlay's PEER record). */
export async function bindingRoute(
  binding: Binding,
  context: BindingRouteContext,
): Promise<BindingRoute | 'no-binding' | 'no-flow-peer'> {
  const flowPeer = Buffer.from(binding.flowPeer).toString('hex');
  if (flowPeer === context.peerIdHex) {
    const target = context.flows.get(context.aor, binding)?.source ?? uriTarget(binding.contact);
    return target === undefined ? 'no-binding' : { uri: requestUriOf(binding.contact), target };
  }
  const peer = await context.location.peer(flowPeer);
  const uri = retargetedFor(binding.contact, context.aor);
  // A NATed flow peer is reached through the public neighbour holding its flow (docs/decisions/node-peer-nat-sip.md).
  const flowRoute = peer === undefined ? undefined : parseFlowRoute(peer.contact.uri);
  if (flowRoute !== undefined && flowRoute.peer === flowPeer) {
    if (context.isSelf?.(flowRoute.holder) !== true)
      return { uri, target: flowRoute.holder, flowPeer, route: `<${peer?.contact.uri ?? ''}>` };
    const source = context.peerFlow?.(flowPeer);
    return source === undefined ? 'no-flow-peer' : { uri, target: source, flowPeer };
  }
  const target = peer === undefined ? undefined : uriTarget(peer.contact.uri);
  // The flow peer learns whose registration the contact is for from the Request-URI (flow-match.ts).
  return target === undefined ? 'no-flow-peer' : { uri, target, flowPeer };
}

/**
 * A contact as a Request-URI: without its `?headers` part, which a Request-URI must not carry (RFC 3261 §19.1.1,
 * §16.6 step 2; RFC 4475 §3.1.2.11). They are not turned into header fields either (§19.1.5 is for a UAC building
 * a request): whoever registered the contact does not choose the Route set of requests to it (RFC 4475 §3.3.14).
 * The user part may hold a `?`, the host part cannot: the headers start at the first `?` after the last `@`.
 */
export function requestUriOf(contact: string): string {
  const question = contact.indexOf('?', contact.lastIndexOf('@') + 1);
  return question < 0 ? contact : contact.slice(0, question);
}

/** The binding with the most time left, the latest stored on a tie. */
export function freshest<B extends RegisteredBinding>(bindings: readonly B[]): B | undefined {
  return bindings.reduce<B | undefined>(
    (a, b) => (a === undefined || b.expires >= a.expires ? b : a),
    undefined,
  );
}

/**
 * One target of a forked request: a user agent. The flows of one instance (RFC 5626 reg-ids) are one target, rung
 * on its freshest flow and failed over to the next on 430 (RFC 5626 §5.3: one flow per instance at a time);
 * a binding without an instance id is a target of its own.
 */
export interface ForkTarget {
  readonly q: number;
  /** Freshest first. */
  readonly bindings: readonly RegisteredBinding[];
}

/** The targets of `bindings` (already live), freshest instance first. */
export function forkTargets(bindings: readonly RegisteredBinding[]): ForkTarget[] {
  const byInstance = new Map<string, RegisteredBinding[]>();
  for (const binding of bindings) {
    const key = binding.instanceId === '' ? `contact ${binding.contact}` : `instance ${binding.instanceId}`;
    const list = byInstance.get(key);
    if (list === undefined) byInstance.set(key, [binding]);
    else list.push(binding);
  }
  const targets = [...byInstance.values()].map((list) => {
    // Stable: the latest stored first on a tie of time left, as for an unforked request.
    const ordered = list.map((b, i) => ({ b, i })).sort((x, y) => y.b.expires - x.b.expires || y.i - x.i);
    return { q: ordered[0]!.b.q ?? DEFAULT_Q, bindings: ordered.map((o) => o.b) };
  });
  return targets.sort((x, y) => y.bindings[0]!.expires - x.bindings[0]!.expires);
}
