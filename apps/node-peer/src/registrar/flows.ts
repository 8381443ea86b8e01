import { bindingSubkey, type Binding } from '@xpp/dht';
import { formatSipUri, parseSipUri, type TransportAddress } from '@xpp/session-sdp';

/** Default bound on flows (registered contacts) one peer holds; a REGISTER for a new one beyond it gets 503. */
export const DEFAULT_MAX_FLOWS = 10_000;

/**
 * A client's RFC 5626 flow held by this peer: the source address its REGISTER came from (after `received` /
 * `rport`), where requests for its contact are sent.
 */
export interface Flow {
  readonly aor: string;
  readonly binding: Binding;
  readonly source: TransportAddress;
  /** Clock ms when the binding expires unless refreshed. */
  readonly expiresAt: number;
  /** Clock ms when this flow was first seen (a refresh from the same source keeps it). */
  readonly since: number;
  /** The contact advertised `+sip.xpp-peer`. */
  readonly xppPeer: boolean;
}

/**
 * The flows of clients registered through this peer, keyed by AOR and binding identity, with indexes by contact
 * URI (how an incoming request is matched to a flow), by AOR (what a registrar's 200 lists) and of the flows that
 * advertised `+sip.xpp-peer` (the invite policy's candidates), so that no REGISTER or policy tick walks every flow.
 * Bounded; pure (time comes in as arguments).
 */
export class FlowTable {
  readonly #max: number;
  readonly #flows = new Map<string, Flow>();
  readonly #byContact = new Map<string, Flow>();
  /** AOR → its flows by flow key; an AOR without flows has no entry. */
  readonly #byAor = new Map<string, Map<string, Flow>>();
  /** Flows that advertised `+sip.xpp-peer`, by flow key. */
  readonly #xppPeers = new Map<string, Flow>();

  constructor(max = DEFAULT_MAX_FLOWS) {
    this.#max = max;
  }

  get size(): number {
    return this.#flows.size;
  }

  /** Distinct AORs with at least one flow here (the clients attached to this peer). */
  get aors(): number {
    return this.#byAor.size;
  }

  /** True when a flow for `binding` of `aor` could be stored (it exists already, or there is room). */
  hasRoom(aor: string, binding: Binding): boolean {
    return this.#flows.has(flowKey(aor, binding)) || this.#flows.size < this.#max;
  }

  /** Stores or refreshes a flow; `since` is kept when the source is unchanged. Returns false when full. */
  set(flow: Omit<Flow, 'since'>, now: number): boolean {
    const key = flowKey(flow.aor, flow.binding);
    const previous = this.#flows.get(key);
    if (previous === undefined && this.#flows.size >= this.#max) return false;
    const sameSource =
      previous !== undefined &&
      previous.source.address === flow.source.address &&
      previous.source.port === flow.source.port;
    const stored: Flow = { ...flow, since: sameSource ? previous.since : now };
    if (previous !== undefined) this.#unindex(key, previous);
    this.#flows.set(key, stored);
    this.#byContact.set(contactKey(stored.binding.contact), stored);
    let ofAor = this.#byAor.get(stored.aor);
    if (ofAor === undefined) this.#byAor.set(stored.aor, (ofAor = new Map()));
    ofAor.set(key, stored);
    if (stored.xppPeer) this.#xppPeers.set(key, stored);
    return true;
  }

  delete(aor: string, binding: Pick<Binding, 'instanceId' | 'regId' | 'contact'>): Flow | undefined {
    const key = flowKey(aor, binding);
    const flow = this.#flows.get(key);
    if (flow === undefined) return undefined;
    this.#flows.delete(key);
    this.#unindex(key, flow);
    return flow;
  }

  /** Every flow of `aor`. */
  ofAor(aor: string): Flow[] {
    const ofAor = this.#byAor.get(aor);
    return ofAor === undefined ? [] : [...ofAor.values()];
  }

  /** Whether this peer holds a flow of `aor`. */
  hasAor(aor: string): boolean {
    return this.#byAor.has(aor);
  }

  /** The flows whose contact advertised `+sip.xpp-peer` (candidates of the invite policy). */
  xppPeers(): IterableIterator<Flow> {
    return this.#xppPeers.values();
  }

  /** The flow whose contact URI is `uri`, URI parameters aside (a request retargeted to a contact, in-dialog). */
  byContact(uri: string): Flow | undefined {
    return this.#byContact.get(contactKey(uri));
  }

  /** The flow of `aor` with binding identity `binding`. */
  get(aor: string, binding: Pick<Binding, 'instanceId' | 'regId' | 'contact'>): Flow | undefined {
    return this.#flows.get(flowKey(aor, binding));
  }

  /** Removes and returns the flows expired at `now` (their client did not refresh: the flow is dead). */
  sweep(now: number): Flow[] {
    const dead: Flow[] = [];
    for (const [key, flow] of this.#flows) {
      if (flow.expiresAt > now) continue;
      this.#flows.delete(key);
      this.#unindex(key, flow);
      dead.push(flow);
    }
    return dead;
  }

  values(): IterableIterator<Flow> {
    return this.#flows.values();
  }

  clear(): void {
    this.#flows.clear();
    this.#byContact.clear();
    this.#byAor.clear();
    this.#xppPeers.clear();
  }

  #unindex(key: string, flow: Flow): void {
    const contact = contactKey(flow.binding.contact);
    if (this.#byContact.get(contact) === flow) this.#byContact.delete(contact);
    const ofAor = this.#byAor.get(flow.aor);
    ofAor?.delete(key);
    if (ofAor?.size === 0) this.#byAor.delete(flow.aor);
    this.#xppPeers.delete(key);
  }
}

function flowKey(aor: string, binding: Pick<Binding, 'instanceId' | 'regId' | 'contact'>): string {
  return `${aor}\n${bindingSubkey(binding)}`;
}

/** A contact URI without its parameters: `sip:user@host:port` names the same UA whatever `;transport=` says. */
function contactKey(uri: string): string {
  const parsed = parseSipUri(uri);
  return parsed === undefined ? uri : formatSipUri({ ...parsed, params: new Map() });
}
