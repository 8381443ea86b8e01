import type { InviteCandidate, InvitePolicy, NodeLoad } from '@xpp/dht';
import type { Clock, TimerHandle } from '@xpp/reliability';
import { formatSipUri, parseSipUri, type TransportAddress } from '@xpp/session-sdp';
import type { FlowTable } from '../registrar/flows.js';

/** How often the invite policy is asked, ms. */
export const DEFAULT_INVITE_INTERVAL_MS = 5_000;
/** First wait before a candidate whose invitation failed is tried again, ms; doubles up to the maximum. */
export const DEFAULT_INVITE_BACKOFF_MS = 30_000;
export const MAX_INVITE_BACKOFF_MS = 600_000;
/** Candidates remembered (backoff or already invited) at most; the oldest are forgotten first. */
export const MAX_REMEMBERED_CANDIDATES = 1_024;

export interface InvitationsOptions {
  readonly policy: InvitePolicy;
  readonly clock: Clock;
  readonly intervalMs?: number;
  readonly backoffMs?: number;
  readonly load: () => NodeLoad;
  readonly candidates: () => InviteCandidate[];
  /** Invites one candidate (the node's `invite(contact)`); resolves with the newcomer's peer id. */
  readonly invite: (candidate: InviteCandidate) => Promise<string>;
  readonly onResult: (candidate: InviteCandidate, result: { peerId?: string; error?: Error }) => void;
}

/**
 * Runs the spec §7 invite policy for real: every interval it asks the policy, and invites the candidate it names —
 * one invitation at a time, never one already invited, and with exponential backoff after a failure.
 */
export class Invitations {
  readonly #o: InvitationsOptions;
  readonly #interval: number;
  readonly #backoff: number;
  /**
   * Candidate id → when it may be tried again and the next backoff; Infinity once invited, until the same contact
   * registers on a newer flow (a peer that left and came back as a candidate: node-peer-rejoin.md).
   */
  readonly #memory = new Map<string, { until: number; next: number; flowSince?: number }>();
  #timer: TimerHandle | undefined;
  #busy = false;
  #stopped = false;

  constructor(options: InvitationsOptions) {
    this.#o = options;
    this.#interval = options.intervalMs ?? DEFAULT_INVITE_INTERVAL_MS;
    this.#backoff = options.backoffMs ?? DEFAULT_INVITE_BACKOFF_MS;
  }

  get busy(): boolean {
    return this.#busy;
  }

  start(): void {
    if (this.#stopped || this.#timer !== undefined) return;
    const tick = () => {
      this.#timer = this.#o.clock.setTimer(tick, this.#interval);
      void this.evaluate();
    };
    this.#timer = this.#o.clock.setTimer(tick, this.#interval);
  }

  /** Asks the policy once (what every tick does); resolves when the invitation it started, if any, ended. */
  async evaluate(): Promise<void> {
    if (this.#busy || this.#stopped) return;
    const now = this.#o.clock.now();
    const eligible = this.#o.candidates().filter((c) => {
      const known = this.#memory.get(c.id);
      if (known === undefined || known.until <= now) return true;
      return known.flowSince !== undefined && c.flowSince > known.flowSince;
    });
    const chosen = this.#o.policy(this.#o.load(), eligible, now);
    if (chosen === undefined) return;
    this.#busy = true;
    try {
      const peerId = await this.#o.invite(chosen);
      this.#remember(chosen.id, {
        until: Infinity,
        next: Infinity,
        flowSince: chosen.flowSince,
      });
      this.#o.onResult(chosen, { peerId });
    } catch (error) {
      const next = this.#memory.get(chosen.id)?.next ?? this.#backoff;
      this.#remember(chosen.id, {
        until: this.#o.clock.now() + next,
        next: Math.min(2 * next, MAX_INVITE_BACKOFF_MS),
      });
      this.#o.onResult(chosen, { error: error instanceof Error ? error : new Error(String(error)) });
    } finally {
      this.#busy = false;
    }
  }

  stop(): void {
    this.#stopped = true;
    if (this.#timer !== undefined) this.#o.clock.clearTimer(this.#timer);
    this.#timer = undefined;
  }

  #remember(id: string, entry: { until: number; next: number; flowSince?: number }): void {
    this.#memory.delete(id);
    this.#memory.set(id, entry);
    for (const oldest of this.#memory.keys()) {
      if (this.#memory.size <= MAX_REMEMBERED_CANDIDATES) break;
      this.#memory.delete(oldest);
    }
  }
}

/**
 * Where to send the INVITE that makes a client a peer: its contact's user at the flow's source address, which is
 * the address its SIP socket is reached at through any NAT (spec §1: the peer sets up the session over the client's
 * flow), else the contact as registered.
 */
export function inviteTarget(contact: string, source: TransportAddress | undefined): string {
  const uri = parseSipUri(contact);
  if (uri === undefined || source === undefined) return contact;
  return formatSipUri({
    scheme: 'sip',
    ...(uri.user === undefined ? {} : { user: uri.user }),
    host: source.address,
    port: source.port,
    params: new Map(),
  });
}

/** The source of the `+sip.xpp-peer` flow registered with `contact` (the candidates are listed by contact). */
export function xppFlowSource(flows: FlowTable, contact: string): TransportAddress | undefined {
  return flows.withContact(contact).find((flow) => flow.xppPeer)?.source;
}
