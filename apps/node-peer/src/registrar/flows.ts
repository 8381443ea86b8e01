import { bindingSubkey, type Binding } from '@xpp/dht';
import { formatSipUri, parseSipUri, type SipAddress } from '@xpp/session-sdp';

/**
 * RFC 5626 §4.4.1 Flow-Timer the registrar's 200 names for an Outbound (reg-id) registration, seconds: how often the
 * client keeps its flow alive. UDP NAT bindings last ≈ 30 s, so a UDP flow pings within 29 s; a connection keeps
 * its NAT binding longer (the RFC's 95–120 s for streams).
 */
export const FLOW_TIMER_S = { datagram: 29, stream: 120 } as const;
/** Beyond its Flow-Timer a silent UDP flow is granted this much before it is failed (a lost keepalive or two). */
export const FLOW_SLACK_S = 30;

/** The Flow-Timer for a flow over `source`'s transport. */
export function flowTimerFor(source: SipAddress): number {
  return (source.transport ?? 'UDP') === 'UDP' ? FLOW_TIMER_S.datagram : FLOW_TIMER_S.stream;
}

/** Default bound on flows (registered contacts) one peer holds; a REGISTER for a new one beyond it gets 503. */
export const DEFAULT_MAX_FLOWS = 10_000;

/**
 * A client's RFC 5626 flow held by this peer: the source address its REGISTER came from (after `received` /
 * `rport`), where requests for its contact are sent.
 */
export interface Flow {
  readonly aor: string;
  readonly binding: Binding;
  readonly source: SipAddress;
  /** Clock ms when the binding expires unless refreshed. */
  readonly expiresAt: number;
  /** Clock ms when this flow was first seen (a refresh from the same source keeps it). */
  readonly since: number;
  /** The contact advertised `+sip.xpp-peer`. */
  readonly xppPeer: boolean;
  /**
   * Clock ms of the last sign of life on the flow (its REGISTER, a STUN keepalive from its source): an RFC 5626 flow
   * over UDP that stays silent past its Flow-Timer and slack has failed. Absent: the registration time.
   */
  readonly seenAt?: number;
  /**
   * The flow died (its connection closed, or its keepalives stopped): a request that must use it gets 430 Flow
   * Failed (RFC 5626 §5.3) until the client registers again, which replaces it, or the binding expires.
   */
  readonly failed?: boolean;
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
  /** Source address:port (and transport) → the flows registered from it, by flow key: what a closed connection ends. */
  readonly #bySource = new Map<string, Map<string, Flow>>();

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
    // A REGISTER brings a flow back to life (RFC 5626 §4.2: the client re-registers after a 430).
    const stored: Flow = { ...flow, since: sameSource ? previous.since : now, seenAt: now };
    if (previous !== undefined) this.#unindex(key, previous);
    this.#flows.set(key, stored);
    this.#index(key, stored);
    return true;
  }

  #index(key: string, stored: Flow): void {
    const contact = contactKey(stored.binding.contact);
    let withContact = this.#byContact.get(contact);
    if (withContact === undefined) this.#byContact.set(contact, (withContact = new Map()));
    withContact.set(key, stored);
    let ofAor = this.#byAor.get(stored.aor);
    if (ofAor === undefined) this.#byAor.set(stored.aor, (ofAor = new Map()));
    ofAor.set(key, stored);
    if (stored.xppPeer) this.#xppPeers.set(key, stored);
    const source = sourceKey(stored.source);
    let fromSource = this.#bySource.get(source);
    if (fromSource === undefined) this.#bySource.set(source, (fromSource = new Map()));
    fromSource.set(key, stored);
  }

  /**
   * Marks every live flow from `source` failed (its connection closed) and returns them. The flows stay, so that a
   * request for them is answered 430 rather than timing out, until a new REGISTER replaces them or they expire.
   */
  failSource(source: SipAddress): Flow[] {
    const fromSource = this.#bySource.get(sourceKey(source));
    if (fromSource === undefined) return [];
    const failed: Flow[] = [];
    for (const flow of [...fromSource.values()]) {
      if (flow.failed === true) continue;
      this.#replace(flow, { ...flow, failed: true });
      failed.push(flow);
    }
    return failed;
  }

  /** Records a keepalive from `source` at `now` on the flows registered from it (STUN on UDP). */
  touchSource(source: SipAddress, now: number): void {
    const fromSource = this.#bySource.get(sourceKey(source));
    if (fromSource === undefined) return;
    for (const flow of [...fromSource.values()])
      if (flow.failed !== true) this.#replace(flow, { ...flow, seenAt: now });
  }

  /**
   * Marks failed the UDP flows of Outbound clients (reg-id ≠ 0) silent at `now` for longer than their Flow-Timer and
   * {@link FLOW_SLACK_S} (no REGISTER, no keepalive) and returns them. Streams are not checked here: their connection's close says it (and the transport's
   * idle timeout closes a silent one).
   */
  failSilent(now: number): Flow[] {
    const silentSince = now - (FLOW_TIMER_S.datagram + FLOW_SLACK_S) * 1000;
    const failed: Flow[] = [];
    for (const flow of this.#flows.values()) {
      if (flow.failed === true || flow.binding.regId === 0) continue;
      if ((flow.source.transport ?? 'UDP') !== 'UDP') continue;
      if ((flow.seenAt ?? flow.since) >= silentSince) continue;
      failed.push(flow);
    }
    for (const flow of failed) this.#replace(flow, { ...flow, failed: true });
    return failed;
  }

  #replace(previous: Flow, next: Flow): void {
    const key = flowKey(previous.aor, previous.binding);
    this.#unindex(key, previous);
    this.#flows.set(key, next);
    this.#index(key, next);
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
    this.#bySource.clear();
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
    const source = sourceKey(flow.source);
    const fromSource = this.#bySource.get(source);
    if (fromSource?.get(key) === flow) fromSource.delete(key);
    if (fromSource?.size === 0) this.#bySource.delete(source);
  }
}

function sourceKey(source: SipAddress): string {
  return `${source.transport ?? 'UDP'}|${source.address}|${source.port}`;
}

function flowKey(aor: string, binding: Pick<Binding, 'instanceId' | 'regId' | 'contact'>): string {
  return `${aor}\n${bindingSubkey(binding)}`;
}

/** A contact URI without its parameters: `sip:user@host:port` names the same UA whatever `;transport=` says. */
function contactKey(uri: string): string {
  const parsed = parseSipUri(uri);
  return parsed === undefined ? uri : formatSipUri({ ...parsed, params: new Map() });
}
