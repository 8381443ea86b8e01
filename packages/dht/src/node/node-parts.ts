import { pointCodec, type Zone } from '@xpp/can';
import type { Emitter, Clock } from '@xpp/reliability';
import type { SipUserAgent, XppEndpoint } from '@xpp/session-sdp';
import { RecordKind } from '../kinds.js';
import { revocationKey } from '../membership/revocation.js';
import type { OriginAuthority } from '../origin.js';
import { MemoryRecordStore, type RecordStore } from '../store.js';
import type { NeighbourInfo, WireRecord } from '../values.js';
import { Announcer } from './announcer.js';
import type { NodeCounters } from './counters.js';
import type { OverlayNodeEvents } from './events.js';
import { NeighbourTable } from './neighbour-table.js';
import {
  type nodeSettings,
  credentialVerifier,
  exportAdmins,
  isRecordStore,
  removalVerifier,
  revocationVerifier,
  OVERLAY_NODE_DEFAULTS,
  type OverlayNodeOptions,
} from './node-options.js';
import { PeerInfoCodec } from './peer-info.js';
import { PeerListDelta } from './peer-list-delta.js';
import { Ownership } from './ownership.js';
import { Replicator } from './replicator.js';
import { ReplicaHolder } from './replica-holder.js';
import { NeighbourRights } from './rights.js';
import { Router } from './routing.js';
import { Dispatcher } from './dispatch.js';
import { overlayHandlers } from './handlers.js';
import { Links } from './links.js';
import { Membership } from './membership.js';
import { TakeoverCoordinator } from './takeover-coordinator.js';
import { Admission } from './admission.js';
import { ZoneTransfer } from './zone-transfer.js';
import { PeerMemory } from './peer-memory.js';
import { Settler } from './settler.js';
import { ZoneRecords } from './zone-records.js';
import { ZoneClaims } from './zone-claims.js';
import { NodeAuth } from './node-auth.js';
import { ReflexiveDiscovery } from './reflexive.js';
import { Relays } from './relay.js';
import { zoneContaining } from './zones.js';
import { exportAtOwner } from './credential-export-walk.js';

/** The parts an `OverlayNode` is made of (docs/architecture.md, "The overlay node's parts"). */
export interface NodeParts {
  readonly store: RecordStore;
  /** Where this node appears from behind a NAT, asked of its neighbours (docs/decisions/dht-nat.md). */
  readonly reflexive: ReflexiveDiscovery;
  /** Who the node's calls are with: certificates, revocations, ORIGIN (spec §5.5–5.6). */
  readonly auth: NodeAuth;
  readonly origin: OriginAuthority;
  readonly claims: ZoneClaims;
  /** The only writer of state, zones and version. */
  readonly own: Ownership;
  readonly records: ZoneRecords;
  readonly neighbours: NeighbourTable;
  /** Changes of the neighbour list not announced yet. */
  readonly delta: PeerListDelta;
  readonly memory: PeerMemory;
  readonly settler: Settler;
  readonly points: ReturnType<typeof pointCodec>;
  readonly peerInfo: PeerInfoCodec;
  readonly announcer: Announcer;
  readonly replicator: Replicator;
  readonly links: Links;
  readonly members: Membership;
  readonly takeovers: TakeoverCoordinator;
  readonly transfer: ZoneTransfer;
  readonly admission: Admission;
  /** Sessions between peers behind NATs through a common neighbour, and relaying for others (dht-nat.md). */
  readonly relays: Relays;
  readonly router: Router;
  readonly replicaHolder: ReplicaHolder;
  readonly dispatcher: Dispatcher;
}

/** What the parts need of the node itself: its identity, clock, counters and events, and a few of its own acts. */
export interface NodeHooks {
  readonly peerId: Uint8Array;
  readonly id: string;
  readonly dimensions: number;
  readonly clock: Clock;
  readonly counters: NodeCounters;
  readonly events: Emitter<OverlayNodeEvents>;
  endpoint(): XppEndpoint;
  ua(): SipUserAgent;
  /** The overlay's id, once known. */
  overlayId(): Uint8Array | undefined;
  /** A candidate accepted an invitation into this overlay (its JOIN comes on that session). */
  invitedTo(overlay: Uint8Array): void;
  /** JOIN made the node a peer: the overlay it was invited to is its own now (unless it had one). */
  adoptInvitation(): void;
  get(key: string, kind: RecordKind, avoid?: string): Promise<WireRecord[]>;
  info(zones: readonly Zone[], version?: number): NeighbourInfo;
  contested(): Zone[];
  settlePass(): Promise<boolean>;
  close(): Promise<void>;
}

type Assembling = { -readonly [K in keyof NodeParts]: NodeParts[K] };

/**
 * Builds the node's parts and wires each one's callbacks to the others — the fan-out of every change (a zone
 * change, a neighbour forgotten, a link lost) reads top to bottom here. Parts refer to each other through `p`,
 * filled in this order; a callback runs only after the node is built.
 */
export function composeParts(
  options: OverlayNodeOptions,
  s: ReturnType<typeof nodeSettings>,
  hooks: NodeHooks,
): NodeParts {
  const d = OVERLAY_NODE_DEFAULTS;
  const p = {} as Assembling;
  // What most parts read of the node, and how they ask for a settle pass.
  const view = {
    state: () => p.own.state,
    zones: () => p.own.zones,
    requestSettle: (delay?: number, routine?: boolean) => p.settler.request(delay, routine),
  };
  const membership = options.membership;
  // A new server-reflexive address changes the contact: a full announcement is due, and calls to make.
  p.reflexive = new ReflexiveDiscovery({
    endpoint: () => hooks.endpoint(),
    ua: () => hooks.ua(),
    changed: () => {
      p.announcer.expire();
      p.settler.request();
    },
  });
  p.auth = new NodeAuth({
    overlay: () => hooks.overlayId(),
    invitedTo: (overlay) => hooks.invitedTo(overlay),
    membership,
    peerId: hooks.peerId,
    clock: hooks.clock,
    counters: hooks.counters,
    claimTimeout: s.claimTimeout,
    refreshInterval: s.refreshInterval,
    maxRemembered: d.maxTombstones,
    ua: () => hooks.ua(),
    endpoint: () => hooks.endpoint(),
    lookup: async (id) => (await hooks.get(revocationKey(id), RecordKind.REVOCATION, id)).map((r) => r.value),
    holdsRevocation: (id) => p.store.get(revocationKey(id), RecordKind.REVOCATION).length > 0,
    alone: () => p.own.state !== 'peer' || p.neighbours.size === 0,
    linked: () => [...p.neighbours.values()].filter((n) => n.link !== undefined),
    neighbour: (id) => p.neighbours.get(id),
    hangUp: (n) => {
      const link = p.links.detach(n);
      p.takeovers.linkDied(n);
      // Not taken back from the lists of neighbours that have not found it revoked yet.
      p.memory.unreachable.mark(n.id);
      void link?.hangUp().catch(() => undefined);
    },
  });
  p.origin = options.origin ?? p.auth.origin();
  p.claims = new ZoneClaims({
    counters: hooks.counters,
    zones: () => p.own.zones,
    contested: () => hooks.contested(),
  });
  p.own = new Ownership({
    changed: (event) => {
      p.replicator.refresh();
      // Who moved away from the old zones may abut the new ones.
      p.memory.movedAway.clear();
      hooks.events.emit('zone-change', event);
      p.settler.request();
    },
  });
  const verifyCredential = credentialVerifier(options);
  const verifyCredentialRemoval = removalVerifier(options);
  // A certified node holds the overlay's revocations, signed by its admin keys (spec §5.3).
  const verifyRevocation = p.auth.revocationVerifier() ?? revocationVerifier(options);
  p.store = isRecordStore(options.store)
    ? options.store
    : new MemoryRecordStore({
        ...options.store,
        clock: hooks.clock,
        ...(verifyCredential === undefined ? {} : { verifyCredential }),
        ...(verifyCredentialRemoval === undefined ? {} : { verifyCredentialRemoval }),
        ...(verifyRevocation === undefined ? {} : { verifyRevocation }),
      });
  p.records = new ZoneRecords(p.store, hooks.dimensions);
  p.neighbours = new NeighbourTable(s.maxNeighbours);
  p.delta = new PeerListDelta(s.maxNeighbours);
  p.memory = new PeerMemory(hooks.clock, {
    maxTombstones: d.maxTombstones,
    maxDeadPeers: d.maxDeadPeers,
    unreachableFor: s.refreshInterval,
  });
  p.settler = new Settler({
    clock: hooks.clock,
    ...s,
    ...view,
    pass: () => hooks.settlePass(),
    tick: () => {
      void p.auth.recheck();
      p.announcer.expire();
      p.replicaHolder.prune();
      p.replicator.verify();
    },
    failed: () => hooks.counters.refuse('settle-failed'),
  });
  p.points = pointCodec(hooks.dimensions);
  p.peerInfo = new PeerInfoCodec(hooks.dimensions);
  p.announcer = new Announcer({
    neighbours: p.neighbours,
    delta: p.delta,
    self: () => hooks.info(p.own.zones),
    encode: (n) => p.peerInfo.encode(n),
    request: (n, type, options) => p.links.requestPeer(n, type, options),
  });
  p.replicator = new Replicator({
    neighbours: p.neighbours,
    store: p.store,
    ...s,
    ...view,
    pointOf: (record) => p.records.pointOf(record),
    encodeZones: (zones) => p.peerInfo.encodeZones(zones),
    request: (n, type, options, timeout) => p.links.requestPeer(n, type, options, timeout),
    // Half the request timeout: the owner's answer waits for the holders, and must still beat the origin's.
    ackTimeout: s.timeout / 2,
    replicated: (event) => hooks.events.emit('replicated', event),
    resync: () => p.settler.request(),
  });
  p.links = new Links({
    selfId: hooks.id,
    clock: hooks.clock,
    dialer: {
      place: (uri, onSession, signal) => p.auth.place(uri, onSession, signal),
      viaRelay: (n, onSession) => p.relays.connect(n, onSession),
    },
    counters: hooks.counters,
    ...s,
    ...view,
    isCurrent: (n) => p.members.isCurrent(n),
    serve: (session) => p.dispatcher.serve(session),
    linkDied: (n) => p.takeovers.linkDied(n),
    linkUp: (n) => hooks.events.emit('neighbour-up', { id: n.id, zones: n.zones }),
    unreachable: (n) => {
      p.members.forget(n, 'unreachable');
      p.memory.unreachable.mark(n.id);
    },
    hello: () => p.announcer.partialUpdate(),
    behindNat: () => p.reflexive.behindNat,
    linkOpened: (call) => p.reflexive.linkOpened(call),
  });
  p.members = new Membership({
    selfId: hooks.id,
    clock: hooks.clock,
    table: p.neighbours,
    delta: p.delta,
    memory: p.memory,
    peerInfo: p.peerInfo,
    counters: hooks.counters,
    ...s,
    links: p.links,
    announcer: p.announcer,
    claims: p.claims,
    ...view,
    coordinating: () => p.takeovers.coordinating(),
    repairOverlap: (n) => p.transfer.repairOverlap(n),
    resolveTakeovers: () => p.takeovers.resolve(),
    forgotten: (n, reason) => {
      p.replicator.forget(n.id);
      for (const wake of n.waiters.splice(0)) wake(undefined);
      hooks.events.emit('neighbour-down', { id: n.id, zones: n.zones, reason });
    },
  });
  p.takeovers = new TakeoverCoordinator({
    selfId: hooks.id,
    clock: hooks.clock,
    ...s,
    ...view,
    table: p.neighbours,
    memory: p.memory,
    records: p.records,
    peerInfo: p.peerInfo,
    members: p.members,
    links: p.links,
    claims: p.claims,
    exclusive: (work) => p.own.exclusive(work),
    info: (zones) => hooks.info(zones),
    take: (zone) => {
      const promoted = p.records.promote([zone]);
      p.own.set([...p.own.zones, zone], 'takeover');
      return promoted;
    },
    holdHandBacks: (until) => {
      p.own.holdHandBacks(until);
      p.settler.requestLater(until - hooks.clock.now());
    },
    took: (event) => hooks.events.emit('takeover', event),
    handBack: (owner, zones, records) => p.transfer.handBack(owner, zones, records),
  });
  p.transfer = new ZoneTransfer({
    selfId: hooks.id,
    dimensions: hooks.dimensions,
    clock: hooks.clock,
    ...s,
    own: p.own,
    table: p.neighbours,
    records: p.records,
    peerInfo: p.peerInfo,
    counters: hooks.counters,
    members: p.members,
    links: p.links,
    announcer: p.announcer,
    claims: p.claims,
    contested: () => hooks.contested(),
    place: (uri, signal) => p.auth.place(uri, (session) => p.dispatcher.serve(session), signal),
    info: (zones, version) => hooks.info(zones, version),
    newPrimaries: () => {
      p.replicator.refresh();
      p.settler.request();
    },
    left: (event) => hooks.events.emit('leave', event),
    ...view,
    close: () => hooks.close(),
  });
  p.admission = new Admission({
    selfId: hooks.id,
    clock: hooks.clock,
    ...s,
    maxCallers: d.maxCallers,
    counters: hooks.counters,
    table: p.neighbours,
    memory: p.memory,
    peerInfo: p.peerInfo,
    members: p.members,
    links: p.links,
    announcer: p.announcer,
    accept: (invite, onSession, admit) => p.auth.accept(invite, onSession, admit),
    serve: (session) => p.dispatcher.serve(session),
    ...view,
    becomePeer: (zones, records) => {
      hooks.adoptInvitation();
      p.own.setState('peer');
      p.records.insert(records, 'primary');
      p.own.set(zones, 'join');
    },
    joined: () => p.settler.startRefresh(),
    learnReflexive: (inviter) => p.reflexive.learn(inviter),
    info: (zones) => hooks.info(zones),
  });
  p.relays = new Relays({
    counters: hooks.counters,
    timeout: s.timeout,
    table: p.neighbours,
    links: p.links,
    auth: p.auth,
    admission: p.admission,
    endpoint: () => hooks.endpoint(),
  });
  p.router = new Router({
    ...s,
    points: p.points,
    store: p.store,
    counters: hooks.counters,
    ...view,
    writable: (point) => p.own.writable(point),
    routable: () => p.neighbours.routable(),
    neighbour: (id) => p.neighbours.get(id),
    requestPeer: (n, type, options, timeout) => p.links.requestPeer(n, type, options, timeout),
    replicateWrite: (point, type, options) => {
      const zone = zoneContaining(p.own.zones, point);
      return zone === undefined ? undefined : p.replicator.write(zone, type, options);
    },
    origin: p.origin,
    exportAtOwner: (inner) =>
      exportAtOwner(
        {
          store: p.store,
          dimensions: hooks.dimensions,
          zones: () => p.own.zones,
          admins: exportAdmins(options),
          wallNow: () => hooks.clock.wallNow(),
        },
        inner,
      ),
  });
  p.replicaHolder = new ReplicaHolder({
    dimensions: hooks.dimensions,
    records: p.records,
    counters: hooks.counters,
    claims: p.claims,
    ...view,
    decodeZones: (zones) => p.peerInfo.decodeZones(zones),
    neighbour: (id) => p.neighbours.get(id),
    ownedNearby: (point) =>
      [...p.neighbours.values()].some((n) => zoneContaining(n.zones, point) !== undefined) ||
      p.takeovers.pendingAt(point),
    // Peers dead for long enough that every takeover of their zones is over are left out: their replicas are the
    // owner's own copies by now, and sending them back on every re-replication would only double it.
    recentDeadZones: () => p.memory.deadZonesSince(hooks.clock.now() - 4 * s.detectionWindow),
    handBack: (owner, zones, records) => void p.transfer.handBack(owner, zones, records),
  });
  p.dispatcher = new Dispatcher(
    {
      counters: hooks.counters,
      rights: new NeighbourRights({
        counters: hooks.counters,
        isNeighbour: (id) => p.neighbours.get(id) !== undefined,
        admit: (from, request) => p.admission.admit(from, request),
      }),
      peerOf: (session) => p.links.peerOf(session),
      durable: () => p.store.durable?.(),
    },
    overlayHandlers({
      state: () => p.own.state,
      points: p.points,
      router: p.router,
      admission: p.admission,
      members: p.members,
      transfer: p.transfer,
      takeovers: p.takeovers,
      replicas: p.replicaHolder,
      relays: p.relays,
    }),
  );
  return p;
}
