import { KeyObject } from 'node:crypto';
import type { TakeoverOptions } from '@xpp/can';
import type { Clock } from '@xpp/reliability';
import type {
  DatagramTransport,
  SecurityPolicy,
  SipRequestHook,
  SipUserAgentOptions,
} from '@xpp/session-sdp';
import { importAdminPublicKey } from '../admin-keys.js';
import { createCredentialVerifier } from '../credential.js';
import { createRemovalVerifier } from '../credential-record.js';
import type { PeerCertificate } from '../membership/certificate.js';
import type { PeerIdentity } from '../membership/identity.js';
import { DhtError } from '../errors.js';
import { AdminKeySet } from '../membership/admin-key-set.js';
import { createRevocationVerifier } from '../membership/revocation.js';
import type { OriginAuthority } from '../origin.js';
import { DEFAULT_HOP_LIMIT } from '../limits.js';
import type { RecordStore, RecordStoreOptions } from '../store.js';
import { DEFAULT_REPLICAS } from './replication.js';
import type { NeighbourSummary, OverlayNodeState, OverlayNodeStats } from './types.js';

// The node's public types live in types.ts (no module there imports back): re-exported here, where they were.
export type { NeighbourSummary, OverlayNodeState, OverlayNodeStats };

/** Failed calls in a row after which a peer that never answers is dropped as unreachable. */
export const UNREACHABLE_AFTER_CALLS = 3;

/** Defaults of the node's timers and bounds (README: "Bounds"). */
export const OVERLAY_NODE_DEFAULTS = Object.freeze({
  maxNeighbours: 128,
  requestTimeout: 10_000,
  keepaliveInterval: 15_000,
  keepaliveMisses: 3,
  replicas: DEFAULT_REPLICAS,
  claimTimeout: 3_000,
  refreshInterval: 30_000,
  settleDelay: 50,
  replicationBatchOctets: 64 * 1024,
  /** Peers remembered as gone (left or dead), so that stale relayed announcements cannot revive them. */
  maxTombstones: 1024,
  /** Dead neighbours remembered (with their neighbour lists) while their zones are taken over. */
  maxDeadPeers: 256,
  /** Callers with a session that are not neighbours yet (their own announcement must come within a request timeout). */
  maxCallers: 8,
});

/**
 * Certified membership (spec xpp-pcan §5, docs/decisions/dht-admission.md): the node's identity and certificate,
 * and the overlay's admin keys and domain against which every other peer's certificate is checked.
 */
export interface NodeMembership {
  /** This node's identity key: its peer id is derived from it. */
  readonly identity: PeerIdentity;
  /** This node's certificate, for the identity's key. */
  readonly certificate: PeerCertificate;
  /** The administrator keys a peer's certificate must be signed by (several during a rotation). */
  readonly admins: AdminKeySet;
  /** The overlay's domain: a certificate for another is refused. */
  readonly domain: string;
  /**
   * How often each neighbour's revocation is looked up again (one routed GET per neighbour), and how long a peer
   * found not revoked is taken as such, ms. Default: the refresh interval, so a revoked neighbour is hung up within
   * one. A longer one trades that delay for fewer lookups (a simulation runs the lookups of all its peers in one
   * process).
   */
  readonly revocationCheckInterval?: number;
}

export interface OverlayNodeOptions {
  /** Address the node's SIP and XPP sockets bind (UDP). Default `127.0.0.1`. */
  readonly host?: string;
  /** SIP port. Default 0 (any). */
  readonly sipPort?: number;
  /** XPP port. Default 0 (any). */
  readonly xppPort?: number;
  /**
   * The XPP host candidates this node advertises (its contact, its offers): one per family on a dual-stack
   * (`::`) bind, e.g. `['127.0.0.1', '::1']`. Default the XPP socket's address (for a wildcard, its interfaces').
   */
  readonly hostAddresses?: readonly string[];
  /** Transports to use instead of UDP sockets (the in-memory network of a simulation). */
  readonly transports?: { readonly sip: DatagramTransport; readonly xpp: DatagramTransport };
  /** CAN dimensions, the same for every peer of an overlay. Default 4. */
  readonly dimensions?: number;
  /** 16 random octets by default; with `membership`, its identity's (a different one is `INVALID_ARGUMENT`). */
  readonly peerId?: Uint8Array;
  /**
   * The overlay this node belongs to (16 octets, spec xpp-pcan §4), for a node restarted with its state; sent as
   * `a=xpp-overlay` at every session setup, and a peer naming another one is refused (`overlay-mismatch`). Without
   * it, `bootstrap()` makes one and a candidate takes its inviter's.
   */
  readonly overlayId?: Uint8Array;
  /**
   * Certified membership: every call this node places or accepts is authenticated (spec §5.5) — a peer without a
   * valid certificate of `admins` for `domain`, or revoked, is refused (403) — and the session's peer is the
   * certified one. Without it nothing authenticates a caller (its id is its SIP From): tests and benches only.
   */
  readonly membership?: NodeMembership;
  readonly clock?: Clock;
  /** Session security (default `required`). */
  readonly security?: SecurityPolicy;
  /**
   * The node's records: a store to use as it is (a durable one; it brings its own clock, bounds and credential
   * check, so `adminPublicKey` cannot be given with it), or the bounds and credential check of the in-memory store
   * the node makes by default.
   */
  readonly store?: RecordStore | Omit<RecordStoreOptions, 'clock'>;
  /**
   * The overlay administrator's Ed25519 public key (spec §5): every CREDENTIAL this node stores — as owner, replica
   * holder or taker — must carry its signature (forged → 403, counted). Overrides `store.verifyCredential`. A set
   * accepts a signature by any of its keys (rotation).
   */
  readonly adminPublicKey?: KeyObject | Uint8Array | string | AdminKeySet;
  /**
   * Signs the ORIGIN of the writes this node starts and verifies those it owns (spec §5.6): a binding's flow peer and
   * a writer's bounds are the origin's. Membership sets it from the node's identity and certificate; without, the
   * origin is this node's peer id, believed as given (`unverifiedOrigin`).
   */
  readonly origin?: OriginAuthority;
  /** Neighbours kept at most. Default 128. */
  readonly maxNeighbours?: number;
  /** Hop limit of the ROUTEs this node starts. Default 64. */
  readonly hopLimit?: number;
  /** Deadline of one overlay request, ms. Default 10 000. */
  readonly requestTimeout?: number;
  /** Idle time before an XPP keepalive on a neighbour session, ms (spec xpp §6). Default 15 000. */
  readonly keepaliveInterval?: number;
  /** Unanswered keepalives in a row that declare a neighbour dead and start the takeover. Default 3. */
  readonly keepaliveMisses?: number;
  /** Replicas of every record (spec §4). Default 2. */
  readonly replicas?: number;
  /**
   * Passed to `@xpp/can`'s `chooseTakeover` (checked there). The ranking it gives does not depend on these timings:
   * survivors wait `rank × claimTimeout` (docs/decisions/dht-takeover.md).
   */
  readonly takeover?: TakeoverOptions;
  /**
   * How long a TAKEOVER claim waits for each other survivor's answer, and the step between the survivors' turns,
   * ms. Default 3 000.
   */
  readonly claimTimeout?: number;
  /** Period of the full NEIGHBOUR-UPDATE, replica check and merge retry, ms (spec §3). Default 30 000. */
  readonly refreshInterval?: number;
  /** Delay that gathers changes before re-announcing and re-replicating, ms. Default 50. */
  readonly settleDelay?: number;
  /** Octets of records in one replication or handoff message. Default 64 KiB. */
  readonly replicationBatchOctets?: number;
  /**
   * Shares the node's SIP socket with an application (a registrar and proxy): sees every request first and returns
   * `true` when it took it. INVITEs it leaves are the overlay's (sessions between peers).
   */
  readonly onSipRequest?: SipRequestHook;
  /** Sees SIP responses that match no transaction of the node first (a stateless proxy's). */
  readonly onSipStrayResponse?: SipUserAgentOptions['onStrayResponse'];
}

/** The node's timers and bounds: the options given, else the defaults. */
export interface NodeSettings {
  readonly maxNeighbours: number;
  readonly hopLimit: number;
  readonly timeout: number;
  readonly replicas: number;
  readonly takeoverOptions: TakeoverOptions;
  readonly claimTimeout: number;
  /** How long a crash may go unnoticed by a neighbour: a keepalive interval per allowed miss, and one more. */
  readonly detectionWindow: number;
  readonly refreshInterval: number;
  readonly settleDelay: number;
  readonly batchOctets: number;
}

export function nodeSettings(options: OverlayNodeOptions): NodeSettings {
  const d = OVERLAY_NODE_DEFAULTS;
  return {
    maxNeighbours: options.maxNeighbours ?? d.maxNeighbours,
    hopLimit: options.hopLimit ?? DEFAULT_HOP_LIMIT,
    timeout: options.requestTimeout ?? d.requestTimeout,
    replicas: options.replicas ?? d.replicas,
    takeoverOptions: options.takeover ?? {},
    claimTimeout: options.claimTimeout ?? d.claimTimeout,
    detectionWindow:
      (options.keepaliveInterval ?? d.keepaliveInterval) *
      ((options.keepaliveMisses ?? d.keepaliveMisses) + 1),
    refreshInterval: options.refreshInterval ?? d.refreshInterval,
    settleDelay: options.settleDelay ?? d.settleDelay,
    batchOctets: options.replicationBatchOctets ?? d.replicationBatchOctets,
  };
}

/** Refuses option values the node cannot run with, before any socket is opened. */
export function checkOptions(options: OverlayNodeOptions): void {
  const positive: [string, number | undefined][] = [
    ['keepaliveInterval', options.keepaliveInterval],
    ['keepaliveMisses', options.keepaliveMisses],
    ['claimTimeout', options.claimTimeout],
    ['refreshInterval', options.refreshInterval],
    ['replicationBatchOctets', options.replicationBatchOctets],
    ['requestTimeout', options.requestTimeout],
    ['maxNeighbours', options.maxNeighbours],
    ['membership.revocationCheckInterval', options.membership?.revocationCheckInterval],
  ];
  for (const [name, value] of positive) {
    if (value !== undefined && !(Number.isFinite(value) && value > 0))
      throw new DhtError('INVALID_ARGUMENT', `${name} must be a positive number, got ${String(value)}`);
  }
  const membership = options.membership;
  if (
    membership !== undefined &&
    options.peerId !== undefined &&
    Buffer.compare(options.peerId, membership.identity.peerId) !== 0
  )
    throw new DhtError(
      'INVALID_ARGUMENT',
      'peerId must be the membership identity’s (it is derived from its key)',
    );
  if (
    membership !== undefined &&
    Buffer.compare(membership.identity.publicKey, membership.certificate.publicKey) !== 0
  )
    throw new DhtError('INVALID_ARGUMENT', 'the membership certificate is not for its identity’s key');
  if (options.overlayId !== undefined && options.overlayId.length !== 16)
    throw new DhtError('INVALID_ARGUMENT', `overlayId must be 16 octets, got ${options.overlayId.length}`);
  if (options.adminPublicKey !== undefined && isRecordStore(options.store))
    throw new DhtError(
      'INVALID_ARGUMENT',
      'adminPublicKey cannot reach a given store: build it with verifyCredential instead',
    );
  for (const [name, value] of [
    ['replicas', options.replicas],
    ['settleDelay', options.settleDelay],
  ] as const) {
    if (value !== undefined && !(Number.isInteger(value) && value >= 0))
      throw new DhtError('INVALID_ARGUMENT', `${name} must be an integer ≥ 0, got ${String(value)}`);
  }
}

/** Whether `store` is a store instance (rather than the options of the in-memory one). */
export function isRecordStore(store: OverlayNodeOptions['store']): store is RecordStore {
  return typeof (store as Partial<RecordStore> | undefined)?.select === 'function';
}

/** How the store checks CREDENTIAL signatures: with the administrator's key when one is given, else as `store` says. */
export function credentialVerifier(options: OverlayNodeOptions): RecordStoreOptions['verifyCredential'] {
  const store = options.store;
  return options.adminPublicKey === undefined
    ? isRecordStore(store)
      ? undefined
      : store?.verifyCredential
    : createCredentialVerifier(adminKeyOf(options.adminPublicKey));
}

/** The tombstone check of a node's own store: from `adminPublicKey`, else as `store` gives it. */
export function removalVerifier(options: OverlayNodeOptions): RecordStoreOptions['verifyCredentialRemoval'] {
  const store = options.store;
  return options.adminPublicKey === undefined
    ? isRecordStore(store)
      ? undefined
      : store?.verifyCredentialRemoval
    : createRemovalVerifier(adminKeyOf(options.adminPublicKey));
}

/** The REVOCATION check of a node's own store: from `adminPublicKey`, else as `store` gives it. */
export function revocationVerifier(options: OverlayNodeOptions): RecordStoreOptions['verifyRevocation'] {
  const store = options.store;
  if (options.adminPublicKey === undefined) return isRecordStore(store) ? undefined : store?.verifyRevocation;
  const key = options.adminPublicKey;
  return createRevocationVerifier(key instanceof AdminKeySet ? key : new AdminKeySet([key]));
}

function adminKeyOf(key: KeyObject | Uint8Array | string | AdminKeySet): KeyObject | AdminKeySet {
  return key instanceof KeyObject || key instanceof AdminKeySet ? key : importAdminPublicKey(key);
}

/**
 * The administrator keys an export grant is checked with: membership's set, else `adminPublicKey`; none, and this
 * node honours no grant (its credentials are never exported).
 */
export function exportAdmins(options: OverlayNodeOptions): AdminKeySet | undefined {
  if (options.membership !== undefined) return options.membership.admins;
  const key = options.adminPublicKey;
  if (key === undefined) return undefined;
  return key instanceof AdminKeySet ? key : new AdminKeySet([key]);
}
