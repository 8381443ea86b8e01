import { parseNameAddr } from '@xpp/session-sdp';
import { DhtError } from './errors.js';

/** A node's load when it considers inviting one of its clients (spec §7). */
export interface NodeLoad {
  /** Records it stores (primaries and replicas). */
  readonly records: number;
  /** Clients attached to it (registered with a live Outbound flow). */
  readonly clients: number;
  /** Requests per second it served recently (SIP and overlay). */
  readonly requestRate: number;
}

/** A registered client that might become a peer. */
export interface InviteCandidate {
  /** The client's address-of-record or contact, as the node names it. */
  readonly id: string;
  /** Whether its Contact carried the `+sip.xpp-peer` feature parameter ({@link advertisesXppPeer}). */
  readonly xppPeer: boolean;
  /** When (clock milliseconds) its current Outbound flow was established. */
  readonly flowSince: number;
}

/** Decides whom to invite now, if anyone: a pure function of load, candidates and time. */
export type InvitePolicy = (
  load: NodeLoad,
  candidates: readonly InviteCandidate[],
  now: number,
) => InviteCandidate | undefined;

export interface DefaultInvitePolicyOptions {
  /** Invite when storing more records than this. */
  readonly maxRecords?: number;
  /** Invite when more clients than this are attached. */
  readonly maxClients?: number;
  /** Invite when serving more requests per second than this. */
  readonly maxRequestRate?: number;
  /** Milliseconds a candidate's flow must have been up. */
  readonly minStableFlowMs?: number;
}

/** Defaults of the spec §7 policy (README: "Bounds"). */
export const DEFAULT_INVITE_POLICY = Object.freeze({
  maxRecords: 10_000,
  maxClients: 200,
  maxRequestRate: 500,
  minStableFlowMs: 10 * 60 * 1000,
});

/**
 * The spec §7 policy: when any load figure is above its threshold, invite the candidate that advertised
 * `+sip.xpp-peer` and has kept its flow longest (at least `minStableFlowMs`); ties go to the lower id, so the
 * choice is deterministic. Otherwise nobody.
 */
export function createDefaultInvitePolicy(options: DefaultInvitePolicyOptions = {}): InvitePolicy {
  const o = { ...DEFAULT_INVITE_POLICY, ...options };
  for (const [name, value] of Object.entries(o)) {
    if (!Number.isFinite(value) || value < 0) {
      throw new DhtError(
        'INVALID_ARGUMENT',
        `invite policy ${name} must be a number ≥ 0, got ${String(value)}`,
      );
    }
  }
  return (load, candidates, now) => {
    const loaded =
      load.records > o.maxRecords || load.clients > o.maxClients || load.requestRate > o.maxRequestRate;
    if (!loaded) return undefined;
    let best: InviteCandidate | undefined;
    for (const c of candidates) {
      if (!c.xppPeer || now - c.flowSince < o.minStableFlowMs) continue;
      if (
        best === undefined ||
        c.flowSince < best.flowSince ||
        (c.flowSince === best.flowSince && c.id < best.id)
      ) {
        best = c;
      }
    }
    return best;
  };
}

/**
 * Whether a Contact header value (or one contact of it) carries the `+sip.xpp-peer` feature parameter
 * (RFC 3840 style: bare, or `="TRUE"`; `="FALSE"` does not count). Parameter names are case-insensitive.
 */
export function advertisesXppPeer(contact: string): boolean {
  // The name-addr parser ends the URI at its own `>`, so a later `+sip.instance="<urn:…>"` cannot hide the parameter.
  const value = parseNameAddr(contact)?.params.get('+sip.xpp-peer');
  if (value === undefined) return false;
  return value === null || value.replace(/^"(.*)"$/, '$1').toUpperCase() !== 'FALSE';
}
