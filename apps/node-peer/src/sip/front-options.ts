import type { KeyObject } from 'node:crypto';
import type { AdminKeySet, DigestAlgorithm, InvitePolicy, PeerCertificate, PeerIdentity } from '@xpp/dht';
import type { Clock } from '@xpp/reliability';
import type { ServerTransactionLimits } from '@xpp/session-sdp';
import type { Logger } from '../logger.js';
import type { AuthLimits } from '../registrar/auth-limiter.js';
import type { ExpiryBounds } from '../registrar/contacts.js';

/** How a {@link SipFront} is set up: the domain, its keys and every bound of its registrar and proxy. */
export interface SipFrontOptions {
  /** The overlay's domain, e.g. `localhost`: realm of challenges, host of every AOR served. */
  readonly domain: string;
  /** Verifies CREDENTIAL records (spec §5): one key, or every accepted key while one is rotated. */
  readonly adminPublicKey: KeyObject | AdminKeySet;
  /** HMAC key of the nonces; default random (a restart re-challenges clients). */
  readonly nonceSecret?: Uint8Array;
  /** Default `createDefaultInvitePolicy()`. */
  readonly invitePolicy?: InvitePolicy;
  readonly logger?: Logger;
  readonly clock?: Clock;
  /** Digest challenges in order of preference; default MD5 alone (`DEFAULT_DIGEST_ALGORITHMS`). */
  readonly digestAlgorithms?: readonly DigestAlgorithm[];
  /** Registration expiry bounds (Min-Expires 60 s, max and default 3600 s). */
  readonly expiry?: Partial<ExpiryBounds>;
  /** Flows (registered contacts) held at most. Default {@link DEFAULT_MAX_FLOWS}. */
  readonly maxFlows?: number;
  /** Default {@link DEFAULT_MAX_PENDING_INVITES}. */
  readonly maxPendingInvites?: number;
  /** Contacts an INVITE to an AOR rings at most (forking). Default {@link DEFAULT_MAX_BRANCHES}. */
  readonly maxForkBranches?: number;
  /** Timer C: a forked branch ringing longer is cancelled, ms. Default {@link DEFAULT_TIMER_C_MS}. */
  readonly timerCMs?: number;
  /**
   * HMAC key of this peer's Record-Route tokens (`RECORD_ROUTE_KEY_SIZE` octets); default random, so dialogs do
   * not outlive the process. The daemon keeps it in the data directory.
   */
  readonly recordRouteKey?: Uint8Array;
  /** Forward a local user's requests to other domains (default false: nothing leaves the domain). */
  readonly foreignCalls?: boolean;
  /** REGISTERs being checked against the overlay at once; more get 503. Default {@link DEFAULT_MAX_REGISTERS_IN_FLIGHT}. */
  readonly maxRegistersInFlight?: number;
  /** Answers of REGISTERs kept for retransmissions. Default {@link DEFAULT_MAX_ANSWERED}. */
  readonly maxAnsweredRegisters?: number;
  /** Nonce lifetime, ms (default 300 000) and nonces tracked for replay protection (default 100 000). */
  readonly nonceLifetimeMs?: number;
  readonly maxTrackedNonces?: number;
  /** Back-off of failed digest answers per (AOR, source address); defaults in `DEFAULT_AUTH_LIMITS`. */
  readonly authLimits?: Partial<AuthLimits>;
  /** How often the invite policy is asked, ms. Default 5 000. */
  readonly inviteIntervalMs?: number;
  /** First backoff after a failed invitation, ms. Default 30 000. */
  readonly inviteBackoffMs?: number;
  /** How often dead flows are dropped, ms. Default {@link DEFAULT_FLOW_SWEEP_MS}. */
  readonly flowSweepMs?: number;
  /**
   * Lifetime of this peer's PEER record (where other peers reach its flows), s. Default twice the longest
   * registration; refreshed by a REGISTER once less than the longest registration is left.
   */
  readonly peerRecordLifetime?: number;
  /**
   * Server transaction shares per source, per address and in total on the node's SIP socket (default
   * `DEFAULT_SERVER_TRANSACTION_LIMITS`, sized by memory): what keeps a flood from one source off everyone else.
   */
  readonly transactionLimits?: Partial<ServerTransactionLimits>;
  /**
   * Challenge (407) the calls of this peer's clients: INVITE, MESSAGE and SUBSCRIBE out of dialog whose From is a
   * user of the domain. Default true (docs/decisions/node-peer-asserted-identity.md).
   */
  readonly authenticateCalls?: boolean;
  /**
   * This peer's certified identity: it signs the callers it verified for the next peer (`XPP-Identity`) and checks
   * other peers' assertions. Without it no assertion is made, and every one received is refused.
   */
  readonly membership?: {
    readonly identity: PeerIdentity;
    readonly certificate: PeerCertificate;
    readonly admins: AdminKeySet;
  };
}

export const DEFAULT_MAX_REGISTERS_IN_FLIGHT = 512;
export const DEFAULT_FLOW_SWEEP_MS = 5_000;

/** What the front has done, for `status` and `/metrics`. */
export interface SipFrontStats {
  /** Successful REGISTERs (binding stored, refreshed or removed). */
  registrations: number;
  /** Bindings whose flow this peer holds. */
  bindings: number;
  /** Distinct AORs with a flow here. */
  clients: number;
  /** 401 challenges sent. */
  challenges: number;
  /** REGISTERs whose digest failed: a wrong response or an unknown user, answered alike (a fresh 401). */
  authFailures: number;
  /** REGISTERs refused unchecked (403, Retry-After) while their (AOR, address) pair waits after failures. */
  authBackoffs: number;
  /** Requests forwarded by the proxy. */
  proxied: number;
  /**
   * Requests answered with an error, by reason; `overload-<reason>` are the SIP layer's 503s for want of a server
   * transaction slot (`source`, `address`, `reserved`, `class`, `total`, `table`).
   */
  rejected: Record<string, number>;
  /** RFC 5626 keepalives (STUN Binding, CRLF) answered on the SIP socket. */
  keepalives: number;
  /** Exceptions thrown by event listeners (counted, then ignored). */
  listenerErrors: number;
}
