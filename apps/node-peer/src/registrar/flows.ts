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
 * The contact index keeps every flow with a given contact, whatever its AOR: a user who registers another user's
 * contact URI adds a flow of her own AOR beside his, never replaces his, and a request is matched to a flow by
 * contact *and* AOR ({@link ofAorContact}). Bounded; pure (time comes in as arguments).
 */
export class FlowTable {
  readonly #max: number;
  readonly #flows = new Map<string, Flow>();
  /** Contact URI without parameters → the flows registered with it, by flow key (one per AOR and identity). */
  readonly #byContact = new Map<string, Map<string, Flow>>();
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
    const contact = contactKey(stored.binding.contact);
    let withContact = this.#byContact.get(contact);
    if (withContact === undefined) this.#byContact.set(contact, (withContact = new Map()));
    withContact.set(key, stored);
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

  /** Every flow registered with contact URI `uri`, URI parameters aside, of whatever AOR. */
  withContact(uri: string): Flow[] {
    const flows = this.#byContact.get(contactKey(uri));
    return flows === undefined ? [] : [...flows.values()];
  }

  /**
   * The flow of `aor` registered with contact `uri` (URI parameters aside): where a request retargeted to that
   * contact for that AOR, or within a dialog of that AOR, goes. Never another AOR's flow with the same contact.
   */
  ofAorContact(aor: string, uri: string): Flow | undefined {
    return this.withContact(uri).find((flow) => flow.aor === aor);
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
    const withContact = this.#byContact.get(contact);
    if (withContact?.get(key) === flow) withContact.delete(key);
    if (withContact?.size === 0) this.#byContact.delete(contact);
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
