import { randomBytes } from 'node:crypto';
import { checkTiling, hashKey, pointCodec, Zone } from '@xpp/can';
import { Emitter, systemClock, type Clock, type TimerHandle } from '@xpp/reliability';
import { SipUserAgent, UdpSipTransport, XppEndpoint, type DatagramTransport } from '@xpp/session-sdp';
import { DhtError } from '../errors.js';
import { RecordKind } from '../kinds.js';
import type { PeerCertificate } from '../membership/certificate.js';
import { revocationKey } from '../membership/revocation.js';
import { decodePutResponse, decodeRecords, encodeGet, encodePut, encodeRemove } from '../messages.js';
import { DhtOperation } from '../operations.js';
import {
  decodeBindResponse,
  encodeAuthorize,
  encodeRegisterBind,
  type BindChange,
  type BindResponse,
} from '../bind-messages.js';
import type { DigestVerdict } from '../bind-values.js';
import type { DigestResponseFields } from '../digest.js';
import { withOrigin, type OriginAuthority } from '../origin.js';
import { MemoryRecordStore, type RecordStore } from '../store.js';
import type { BindingId, Contact, NeighbourInfo, WireRecord } from '../values.js';
import { Announcer } from './announcer.js';
import { NodeCounters } from './counters.js';
import type { OverlayNodeEvents } from './events.js';
import { neighbourSummary, NeighbourTable, peerIdHex } from './neighbour-table.js';
import {
  checkOptions,
  nodeSettings,
  credentialVerifier,
  exportAdmins,
  isRecordStore,
  removalVerifier,
  revocationVerifier,
  OVERLAY_NODE_DEFAULTS,
  type NeighbourSummary,
  type OverlayNodeOptions,
  type OverlayNodeState,
  type OverlayNodeStats,
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
import { exportAtOwner, walkCredentials, type CredentialExport } from './credential-export-walk.js';

/** How many times a resumed node calls its persisted neighbours again (see OverlayNode.resume). */
const RESUME_RECALLS = 4;

/**
 * One XPP-PCAN peer (spec xpp-pcan): owns a zone of the CAN (two or more during a takeover), keeps an XPP
 * session (set up by SIP) to each neighbour, routes requests greedily hop by hop, stores the records whose keys
 * hash into its zones and replicates them to the peers that would take its zones over. A node starts as a
 * candidate; it becomes a peer by `bootstrap()` (the first peer of an overlay, owning the whole space) or by being
 * invited by a peer (`invite()` on that peer); it goes by `leave()` (handing its zones over) or by crashing (its
 * neighbours take over). Its parts: docs/architecture.md, "The overlay node's parts".
 */
export class OverlayNode {
  readonly peerId: Uint8Array;
  readonly id: string;
  readonly dimensions: number;
  readonly store: RecordStore;
  readonly #records: ZoneRecords;
  readonly endpoint: XppEndpoint;
  readonly ua: SipUserAgent;
  readonly #clock: Clock;
  readonly #claimTimeout: number;
  /** The zones a resume took back, contested until `until` (monotonic ms): see resume(). */
  #resumed: { readonly zones: readonly Zone[]; readonly until: number } | undefined;
  /** The next call of the neighbours a resumed node had (see resume). */
  #resumeTimer: TimerHandle | undefined;
  readonly #sip: DatagramTransport;
  readonly #neighbours: NeighbourTable;
  readonly #points: ReturnType<typeof pointCodec>;
  readonly #peerInfo: PeerInfoCodec;
  readonly #events = new Emitter<OverlayNodeEvents>();
  readonly #counters = new NodeCounters();
  readonly #admission: Admission;
  readonly #takeovers: TakeoverCoordinator;
  readonly #memory: PeerMemory;
  readonly #members: Membership;
  readonly #own: Ownership;
  readonly #settler: Settler;
  /** Changes of the neighbour list not announced yet. */
  readonly #delta: PeerListDelta;
  readonly #announcer: Announcer;
  readonly #replicator: Replicator;
  readonly #router: Router;
  readonly #origin: OriginAuthority;
  readonly #replicaHolder: ReplicaHolder;
  readonly #dispatcher: Dispatcher;
  readonly #links: Links;
  readonly #transfer: ZoneTransfer;
  readonly #claims: ZoneClaims;
  /** Who the node's calls are with: certificates, revocations, ORIGIN (spec §5.5–5.6). */
  readonly #auth: NodeAuth;
  /** The overlay's id (spec §4): given, made by bootstrap(), or the inviter's once JOIN made this node a peer. */
  #overlayId: Uint8Array | undefined;
  /** The overlay id of the invitation a candidate accepted last (its JOIN comes on that session). */
  #invitedTo: Uint8Array | undefined;
  /** Where this node appears from behind a NAT, asked of its neighbours (docs/decisions/dht-nat.md). */
  readonly #reflexive: ReflexiveDiscovery;
  /** Sessions between peers behind NATs through a common neighbour, and relaying for others (dht-nat.md). */
  readonly #relays: Relays;

  private constructor(init: { endpoint: XppEndpoint; sip: DatagramTransport; options: OverlayNodeOptions }) {
    const options = init.options;
    const d = OVERLAY_NODE_DEFAULTS;
    const s = nodeSettings(options);
    // What most parts read of the node, and how they ask for a settle pass.
    const view = {
      state: () => this.#own.state,
      zones: () => this.#own.zones,
      requestSettle: (delay?: number, routine?: boolean) => this.#settler.request(delay, routine),
    };
    const membership = options.membership;
    this.peerId = membership?.identity.peerId ?? options.peerId ?? new Uint8Array(randomBytes(16));
    this.id = peerIdHex(this.peerId);
    this.dimensions = options.dimensions ?? 4;
    this.#clock = options.clock ?? systemClock;
    this.#claimTimeout = s.claimTimeout;
    this.#overlayId = options.overlayId === undefined ? undefined : new Uint8Array(options.overlayId);
    // A new server-reflexive address changes the contact: a full announcement is due, and calls to make.
    this.#reflexive = new ReflexiveDiscovery({
      endpoint: () => this.endpoint,
      ua: () => this.ua,
      changed: () => {
        this.#announcer.expire();
        this.#settler.request();
      },
    });
    this.#auth = new NodeAuth({
      overlay: () => this.#overlayId,
      invitedTo: (overlay) => {
        this.#invitedTo = overlay;
      },
      membership,
      peerId: this.peerId,
      clock: this.#clock,
      counters: this.#counters,
      claimTimeout: s.claimTimeout,
      refreshInterval: s.refreshInterval,
      maxRemembered: d.maxTombstones,
      ua: () => this.ua,
      endpoint: () => this.endpoint,
      lookup: async (id) =>
        (await this.#get(revocationKey(id), RecordKind.REVOCATION, id)).map((r) => r.value),
      holdsRevocation: (id) => this.store.get(revocationKey(id), RecordKind.REVOCATION).length > 0,
      alone: () => this.#own.state !== 'peer' || this.#neighbours.size === 0,
      linked: () => [...this.#neighbours.values()].filter((n) => n.link !== undefined),
      neighbour: (id) => this.#neighbours.get(id),
      hangUp: (n) => {
        const link = this.#links.detach(n);
        this.#takeovers.linkDied(n);
        // Not taken back from the lists of neighbours that have not found it revoked yet.
        this.#memory.unreachable.mark(n.id);
        void link?.hangUp().catch(() => undefined);
      },
    });
    this.#origin = options.origin ?? this.#auth.origin();
    this.#claims = new ZoneClaims({
      counters: this.#counters,
      zones: () => this.#own.zones,
      contested: () => this.#contested(),
    });
    this.#own = new Ownership({
      changed: (event) => {
        this.#replicator.refresh();
        // Who moved away from the old zones may abut the new ones.
        this.#memory.movedAway.clear();
        this.#events.emit('zone-change', event);
        this.#settler.request();
      },
    });
    const verifyCredential = credentialVerifier(options);
    const verifyCredentialRemoval = removalVerifier(options);
    // A certified node holds the overlay's revocations, signed by its admin keys (spec §5.3).
    const verifyRevocation = this.#auth.revocationVerifier() ?? revocationVerifier(options);
    this.store = isRecordStore(options.store)
      ? options.store
      : new MemoryRecordStore({
          ...options.store,
          clock: this.#clock,
          ...(verifyCredential === undefined ? {} : { verifyCredential }),
          ...(verifyCredentialRemoval === undefined ? {} : { verifyCredentialRemoval }),
          ...(verifyRevocation === undefined ? {} : { verifyRevocation }),
        });
    this.#records = new ZoneRecords(this.store, this.dimensions);
    this.#neighbours = new NeighbourTable(s.maxNeighbours);
    this.#delta = new PeerListDelta(s.maxNeighbours);
    this.#memory = new PeerMemory(this.#clock, {
      maxTombstones: d.maxTombstones,
      maxDeadPeers: d.maxDeadPeers,
      unreachableFor: s.refreshInterval,
    });
    this.#settler = new Settler({
      clock: this.#clock,
      ...s,
      ...view,
      pass: () => this.#settlePass(),
      tick: () => {
        void this.#auth.recheck();
        this.#announcer.expire();
        this.#replicaHolder.prune();
        this.#replicator.verify();
      },
      failed: () => this.#counters.refuse('settle-failed'),
    });
    this.#points = pointCodec(this.dimensions);
    this.#peerInfo = new PeerInfoCodec(this.dimensions);
    this.#announcer = new Announcer({
      neighbours: this.#neighbours,
      delta: this.#delta,
      self: () => this.#info(this.#own.zones),
      encode: (n) => this.#peerInfo.encode(n),
      request: (n, type, options) => this.#links.requestPeer(n, type, options),
    });
    this.#replicator = new Replicator({
      neighbours: this.#neighbours,
      store: this.store,
      ...s,
      ...view,
      pointOf: (record) => this.#records.pointOf(record),
      encodeZones: (zones) => this.#peerInfo.encodeZones(zones),
      request: (n, type, options, timeout) => this.#links.requestPeer(n, type, options, timeout),
      // Half the request timeout: the owner's answer waits for the holders, and must still beat the origin's.
      ackTimeout: s.timeout / 2,
      replicated: (event) => this.#events.emit('replicated', event),
      resync: () => this.#settler.request(),
    });
    this.#links = new Links({
      selfId: this.id,
      clock: this.#clock,
      dialer: {
        place: (uri, onSession, signal) => this.#auth.place(uri, onSession, signal),
        viaRelay: (n, onSession) => this.#relays.connect(n, onSession),
      },
      counters: this.#counters,
      ...s,
      ...view,
      isCurrent: (n) => this.#members.isCurrent(n),
      serve: (session) => this.#dispatcher.serve(session),
      linkDied: (n) => this.#takeovers.linkDied(n),
      linkUp: (n) => this.#events.emit('neighbour-up', { id: n.id, zones: n.zones }),
      unreachable: (n) => {
        this.#members.forget(n, 'unreachable');
        this.#memory.unreachable.mark(n.id);
      },
      hello: () => this.#announcer.partialUpdate(),
      behindNat: () => this.#reflexive.behindNat,
      linkOpened: (call) => this.#reflexive.linkOpened(call),
    });
    this.#members = new Membership({
      selfId: this.id,
      clock: this.#clock,
      table: this.#neighbours,
      delta: this.#delta,
      memory: this.#memory,
      peerInfo: this.#peerInfo,
      counters: this.#counters,
      ...s,
      links: this.#links,
      announcer: this.#announcer,
      claims: this.#claims,
      ...view,
      coordinating: () => this.#takeovers.coordinating(),
      repairOverlap: (n) => this.#transfer.repairOverlap(n),
      resolveTakeovers: () => this.#takeovers.resolve(),
      forgotten: (n, reason) => {
        this.#replicator.forget(n.id);
        for (const wake of n.waiters.splice(0)) wake(undefined);
        this.#events.emit('neighbour-down', { id: n.id, zones: n.zones, reason });
      },
    });
    this.#takeovers = new TakeoverCoordinator({
      selfId: this.id,
      clock: this.#clock,
      ...s,
      ...view,
      table: this.#neighbours,
      memory: this.#memory,
      records: this.#records,
      peerInfo: this.#peerInfo,
      members: this.#members,
      links: this.#links,
      claims: this.#claims,
      exclusive: (work) => this.#own.exclusive(work),
      info: (zones) => this.#info(zones),
      take: (zone) => {
        const promoted = this.#records.promote([zone]);
        this.#own.set([...this.#own.zones, zone], 'takeover');
        return promoted;
      },
      holdHandBacks: (until) => {
        this.#own.holdHandBacks(until);
        this.#settler.requestLater(until - this.#clock.now());
      },
      took: (event) => this.#events.emit('takeover', event),
      handBack: (owner, zones, records) => this.#transfer.handBack(owner, zones, records),
    });
    this.#transfer = new ZoneTransfer({
      selfId: this.id,
      dimensions: this.dimensions,
      clock: this.#clock,
      ...s,
      own: this.#own,
      table: this.#neighbours,
      records: this.#records,
      peerInfo: this.#peerInfo,
      counters: this.#counters,
      members: this.#members,
      links: this.#links,
      announcer: this.#announcer,
      claims: this.#claims,
      contested: () => this.#contested(),
      place: (uri, signal) => this.#auth.place(uri, (session) => this.#dispatcher.serve(session), signal),
      info: (zones, version) => this.#info(zones, version),
      newPrimaries: () => {
        this.#replicator.refresh();
        this.#settler.request();
      },
      left: (event) => this.#events.emit('leave', event),
      ...view,
      close: () => this.close(),
    });
    this.#admission = new Admission({
      selfId: this.id,
      clock: this.#clock,
      ...s,
      maxCallers: d.maxCallers,
      counters: this.#counters,
      table: this.#neighbours,
      memory: this.#memory,
      peerInfo: this.#peerInfo,
      members: this.#members,
      links: this.#links,
      announcer: this.#announcer,
      accept: (invite, onSession, admit) => this.#auth.accept(invite, onSession, admit),
      serve: (session) => this.#dispatcher.serve(session),
      ...view,
      becomePeer: (zones, records) => {
        this.#overlayId ??= this.#invitedTo;
        this.#own.setState('peer');
        this.#records.insert(records, 'primary');
        this.#own.set(zones, 'join');
      },
      joined: () => this.#settler.startRefresh(),
      learnReflexive: (inviter) => this.#reflexive.learn(inviter),
      info: (zones) => this.#info(zones),
    });
    this.#relays = new Relays({
      counters: this.#counters,
      timeout: s.timeout,
      table: this.#neighbours,
      links: this.#links,
      auth: this.#auth,
      admission: this.#admission,
      endpoint: () => this.endpoint,
    });
    this.#router = new Router({
      ...s,
      points: this.#points,
      store: this.store,
      counters: this.#counters,
      ...view,
      writable: (point) => this.#own.writable(point),
      routable: () => this.#neighbours.routable(),
      neighbour: (id) => this.#neighbours.get(id),
      requestPeer: (n, type, options, timeout) => this.#links.requestPeer(n, type, options, timeout),
      replicateWrite: (point, type, options) => {
        const zone = zoneContaining(this.#own.zones, point);
        return zone === undefined ? undefined : this.#replicator.write(zone, type, options);
      },
      origin: this.#origin,
      exportAtOwner: (inner) =>
        exportAtOwner(
          {
            store: this.store,
            dimensions: this.dimensions,
            zones: () => this.#own.zones,
            admins: exportAdmins(options),
            wallNow: () => this.#clock.wallNow(),
          },
          inner,
        ),
    });
    this.#replicaHolder = new ReplicaHolder({
      dimensions: this.dimensions,
      records: this.#records,
      counters: this.#counters,
      claims: this.#claims,
      ...view,
      decodeZones: (zones) => this.#peerInfo.decodeZones(zones),
      neighbour: (id) => this.#neighbours.get(id),
      ownedNearby: (p) =>
        [...this.#neighbours.values()].some((n) => zoneContaining(n.zones, p) !== undefined) ||
        this.#takeovers.pendingAt(p),
      // Peers dead for long enough that every takeover of their zones is over are left out: their replicas are the
      // owner's own copies by now, and sending them back on every re-replication would only double it.
      recentDeadZones: () => this.#memory.deadZonesSince(this.#clock.now() - 4 * s.detectionWindow),
      handBack: (owner, zones, records) => void this.#transfer.handBack(owner, zones, records),
    });
    this.#dispatcher = new Dispatcher(
      {
        counters: this.#counters,
        rights: new NeighbourRights({
          counters: this.#counters,
          isNeighbour: (id) => this.#neighbours.get(id) !== undefined,
          admit: (from, request) => this.#admission.admit(from, request),
        }),
        peerOf: (session) => this.#links.peerOf(session),
        durable: () => this.store.durable?.(),
      },
      overlayHandlers({
        state: () => this.#own.state,
        points: this.#points,
        router: this.#router,
        admission: this.#admission,
        members: this.#members,
        transfer: this.#transfer,
        takeovers: this.#takeovers,
        replicas: this.#replicaHolder,
        relays: this.#relays,
      }),
    );
    this.endpoint = init.endpoint;
    this.#sip = init.sip;
    this.ua = new SipUserAgent({
      transport: init.sip,
      clock: this.#clock,
      user: this.id,
      onInvite: (invite) => this.#admission.onInvite(invite),
      ...(options.onSipRequest === undefined ? {} : { onRequest: options.onSipRequest }),
      ...(options.onSipStrayResponse === undefined ? {} : { onStrayResponse: options.onSipStrayResponse }),
    });
  }

  /** Opens the node's sockets (or adopts the given transports). It starts as a candidate. */
  static async create(options: OverlayNodeOptions = {}): Promise<OverlayNode> {
    checkOptions(options);
    const host = options.host ?? '127.0.0.1';
    const sip =
      options.transports?.sip ?? (await UdpSipTransport.open({ address: host, port: options.sipPort ?? 0 }));
    const endpoint = await XppEndpoint.bind({
      ...(options.transports === undefined
        ? { address: host, ...(options.xppPort === undefined ? {} : { port: options.xppPort }) }
        : { transport: options.transports.xpp }),
      ...(options.clock === undefined ? {} : { clock: options.clock }),
      ...(options.security === undefined ? {} : { security: options.security }),
      ...(options.hostAddresses === undefined ? {} : { hostAddresses: options.hostAddresses }),
      channel: {
        keepaliveInterval: options.keepaliveInterval ?? OVERLAY_NODE_DEFAULTS.keepaliveInterval,
        keepaliveMisses: options.keepaliveMisses ?? OVERLAY_NODE_DEFAULTS.keepaliveMisses,
      },
    });
    return new OverlayNode({ endpoint, sip, options });
  }

  get state(): OverlayNodeState {
    return this.#own.state;
  }

  get zones(): readonly Zone[] {
    return this.#own.zones;
  }

  /** The version of this node's own announcements (raised at each change of its zones); persisted for resume. */
  get version(): number {
    return this.#own.version;
  }

  /** The overlay's id in lower-case hex (spec §4); undefined until this node founds or joins one. */
  get overlayId(): string | undefined {
    return this.#overlayId === undefined ? undefined : Buffer.from(this.#overlayId).toString('hex');
  }

  /** The certificate this node presents (spec §5.3): its membership's, or the last renewal; undefined without. */
  get certificate(): PeerCertificate | undefined {
    return this.#auth.certificate;
  }

  /**
   * Gives the running node its renewed certificate (spec §5.3): every session set up from now, and every ORIGIN the
   * node signs, carries it; open sessions stay up. Refused — `CERTIFICATE_REFUSED` with its `reason` — unless it is
   * for this node's key, signed by one of its administrator keys, for its domain and valid now, and
   * `INVALID_ARGUMENT` unless it expires later than the one in use (or without membership). An ORIGIN authority
   * given as the `origin` option is the caller's to renew.
   */
  renewCertificate(certificate: PeerCertificate): void {
    this.#auth.renew(certificate);
  }

  /**
   * Where other peers reach this node: its SIP URI (the INVITE that opens a session) and its XPP address
   * candidates — the host ones and, behind a NAT, the server-reflexive one its neighbours saw (dht-nat.md).
   */
  get contact(): Contact {
    return {
      uri: this.ua.contactUri,
      candidates: this.endpoint.candidates.map((c) => ({ type: c.type, address: c.address, port: c.port })),
    };
  }

  /** Subscribes to an event (see {@link OverlayNodeEvents}); returns the function that unsubscribes. */
  on<K extends keyof OverlayNodeEvents>(event: K, listener: OverlayNodeEvents[K]): () => void {
    return this.#events.on(event, listener);
  }

  /** The neighbours this node knows, with their zones. */
  neighbours(): NeighbourSummary[] {
    return [...this.#neighbours.values()].map(neighbourSummary);
  }

  get stats(): OverlayNodeStats {
    const store = this.store.stats;
    const pendingTakeovers = this.#takeovers.pending;
    return {
      state: this.#own.state,
      zones: this.#own.zones.map((z) => z.toString()),
      volume: this.#own.zones.reduce((sum, z) => sum + z.volume, 0),
      neighbours: this.#neighbours.size,
      records: store.records,
      recordsByRole: { primary: store.primaries, replica: store.replicas },
      operations: { ...this.#counters.handled },
      requests: { ...this.#counters.started },
      hops: [...this.#counters.hops],
      refused: { ...this.#counters.refused },
      replication: this.#replicator.stats,
      takeovers: { pending: pendingTakeovers, won: this.#takeovers.won, yielded: this.#takeovers.yielded },
      connecting: this.#links.connecting,
      settling: this.#settler.busy,
      settled:
        this.#settler.settled &&
        this.#replicator.inFlight === 0 &&
        this.#links.connecting === 0 &&
        pendingTakeovers === 0,
    };
  }

  /**
   * Makes this node the first peer of an overlay: it owns the whole space. A new overlay gets a random id; a node
   * created with `overlayId` resumes that overlay (a restarted peer that was the whole of it).
   */
  bootstrap(): void {
    this.#assertState('candidate');
    this.#overlayId ??= new Uint8Array(randomBytes(16));
    this.#own.setState('peer');
    this.#own.set([Zone.root(this.dimensions)], 'bootstrap');
    this.#settler.startRefresh();
  }

  /**
   * Takes back the zones this node held before a restart (its data directory kept them, with its records) and calls
   * the neighbours it had (`uri` as persisted). Needs the overlay id it was created with. Neighbours that still
   * know it take the new session and its announcement (above `version`, the last it made); one that took a zone
   * over meanwhile meets it as a double owner, repaired by id (dht-double-ownership.md); one that does not answer is
   * dropped after three calls and calls in itself when it is back (docs/decisions/node-peer-rejoin.md).
   */
  resume(state: {
    readonly zones: readonly Zone[];
    readonly version: number;
    readonly neighbours: readonly {
      readonly id: string;
      readonly zones: readonly Zone[];
      readonly uri: string;
    }[];
  }): void {
    this.#assertState('candidate');
    if (this.#overlayId === undefined)
      throw new DhtError('INVALID_ARGUMENT', 'resume needs the overlay id the node was created with');
    if (state.zones.length === 0)
      throw new DhtError('INVALID_ARGUMENT', 'resume needs the zones held before');
    this.#own.setState('peer');
    this.#own.resume([...state.zones], state.version);
    // Its zones may have been taken over while it was down: until the recalls are done, a neighbour's claim on them
    // is a double ownership to repair (the lower id keeps), not a claim to refuse.
    this.#resumed = {
      zones: [...state.zones],
      until: this.#clock.now() + this.#claimTimeout * 2 ** (RESUME_RECALLS + 1),
    };
    const recall = (round: number): void => {
      if (this.#own.state !== 'peer') return;
      for (const n of state.neighbours) {
        // Version 0: whatever the neighbour announces of itself supersedes what was persisted of it; an entry it
        // announced since (or dropped as unreachable) is taken as it is or again.
        const entry =
          this.#neighbours.get(n.id) ??
          this.#members.upsert({
            peerId: new Uint8Array(Buffer.from(n.id, 'hex')),
            zones: n.zones,
            contact: { uri: n.uri, candidates: [] },
            version: 0,
          });
        if (entry !== undefined && entry.link === undefined && entry.connecting === undefined)
          void this.#links.connect(entry);
      }
      // A neighbour that still holds its link to this node's previous run refuses the first calls until that link
      // fails its probe (Links.probe): called again after 1, 2, 4, 8 claim timeouts. Who is still down calls in.
      if (round < RESUME_RECALLS)
        this.#resumeTimer = this.#clock.setTimer(() => recall(round + 1), this.#claimTimeout * 2 ** round);
    };
    recall(0);
    this.#settler.startRefresh();
  }

  /**
   * Invites a candidate (spec §7) at `uri` to become a peer: opens an XPP session to it by SIP, hands it the upper
   * half of this node's zone (or, holding several zones, one of them whole) with the records and neighbours of
   * that zone (JOIN), and announces the change to every neighbour (NEIGHBOUR-UPDATE), who open their own sessions
   * to the newcomer.
   */
  async invite(uri: string, options: { signal?: AbortSignal } = {}): Promise<{ peerId: string; zone: Zone }> {
    this.#assertState('peer');
    return this.#own.exclusive(async () => {
      this.#assertState('peer');
      return this.#transfer.invite(uri, options.signal);
    });
  }

  /**
   * Leaves the overlay gracefully (spec §3 LEAVE): hands each zone with its records to the neighbour that should
   * take it (the sibling when it is one whole zone, else the smallest volume), announces that it owns nothing,
   * and closes. Every point keeps exactly one owner. The last peer of an overlay just closes. A taker that takes a
   * zone but whose answer never arrives, even asked again, leaves this node unsure who owns it: it closes without
   * announcing anything, as a crashed peer does, and rejects with `NO_ROUTE` (docs/decisions/dht-handoff-confirm.md).
   */
  async leave(options: { signal?: AbortSignal } = {}): Promise<void> {
    if (this.#own.state === 'closed') return;
    this.#assertState('peer');
    options.signal?.throwIfAborted();
    const confirmed = await this.#own.exclusive(async () => {
      this.#assertState('peer');
      return this.#transfer.handOverAll(options.signal);
    });
    if (!confirmed) {
      await this.close();
      throw new DhtError(
        'NO_ROUTE',
        'a taker did not confirm its zone: this node closed as a crashed peer does',
      );
    }
    if (this.#own.zones.length === 0) await this.#transfer.depart();
    else await this.close();
  }

  /** Stores a record at the owner of its key's point. Resolves with the lifetime granted, in seconds. */
  async put(key: string, kind: RecordKind, value: Uint8Array, lifetime: number): Promise<number> {
    const response = await this.#router.originate(
      'PUT',
      hashKey(key, this.dimensions),
      DhtOperation.PUT.type,
      withOrigin(this.#origin, DhtOperation.PUT.type, encodePut({ key, kind, value, lifetime })),
    );
    return decodePutResponse(response).lifetime;
  }

  /** The records of `key` and `kind` at the owner of the key's point (empty when there are none). */
  async get(key: string, kind: RecordKind): Promise<WireRecord[]> {
    return this.#get(key, kind);
  }

  async #get(key: string, kind: RecordKind, avoid?: string): Promise<WireRecord[]> {
    const response = await this.#router.originate(
      'GET',
      hashKey(key, this.dimensions),
      DhtOperation.GET.type,
      encodeGet({ key, kind }),
      avoid,
    );
    return [...decodeRecords(response).records];
  }

  /**
   * The overlay's CREDENTIAL records (credentials and tombstones) sealed to the one-time key of `grant`
   * (`createExportGrant`, signed by an administrator key): a walk that asks the owner of every part of the key
   * space once. Peers refuse a grant no accepted administrator key signed, or out of its window.
   */
  async exportCredentials(
    grant: Uint8Array,
    options: { maxRequests?: number } = {},
  ): Promise<CredentialExport> {
    this.#assertState('peer');
    return walkCredentials(
      (target, inner) =>
        this.#router.originate('EXPORT-CREDENTIALS', target, DhtOperation.EXPORT_CREDENTIALS.type, inner),
      this.dimensions,
      grant,
      options.maxRequests,
    );
  }

  /**
   * Removes the records of `key` and `kind` at their owner (and its replicas); with `bindingId`, only that binding
   * of a BINDING record set.
   */
  async remove(key: string, kind: RecordKind, bindingId?: BindingId): Promise<void> {
    await this.#router.originate(
      'REMOVE',
      hashKey(key, this.dimensions),
      DhtOperation.REMOVE.type,
      withOrigin(
        this.#origin,
        DhtOperation.REMOVE.type,
        encodeRemove({ key, kind, ...(bindingId === undefined ? {} : { bindingId }) }),
      ),
    );
  }

  /**
   * REGISTER-BIND (spec §5.6): the owner of `aor` checks `digest` against the credential it holds and, when it holds,
   * stores the binding (its flow peer must be this node) or removes one or all, in one routed round trip.
   */
  async registerBind(aor: string, digest: DigestResponseFields, change: BindChange): Promise<BindResponse> {
    const type = DhtOperation.REGISTER_BIND.type;
    const response = await this.#router.originate(
      'REGISTER-BIND',
      hashKey(aor, this.dimensions),
      type,
      withOrigin(this.#origin, type, encodeRegisterBind({ aor, digest, change })),
    );
    return decodeBindResponse(response);
  }

  /** AUTHORIZE: whether `digest` answers with the secret of `aor` (its owner says yes or no; HA1 stays there). */
  async authorize(aor: string, digest: DigestResponseFields): Promise<DigestVerdict> {
    const type = DhtOperation.AUTHORIZE.type;
    const response = await this.#router.originate(
      'AUTHORIZE',
      hashKey(aor, this.dimensions),
      type,
      withOrigin(this.#origin, type, encodeAuthorize({ aor, digest })),
    );
    return decodeBindResponse(response).verdict;
  }

  /** Closes every session and both sockets (or transports: the node owns what it was given). */
  async close(): Promise<void> {
    if (this.#own.state === 'closed') return;
    this.#own.setState('closed');
    this.#settler.stop();
    if (this.#resumeTimer !== undefined) this.#clock.clearTimer(this.#resumeTimer);
    this.#takeovers.stop();
    this.#transfer.stop();
    this.#admission.stop();
    for (const n of [...this.#neighbours.values()]) {
      for (const wake of n.waiters.splice(0)) wake(undefined);
      n.link?.session.close();
    }
    await this.ua.close();
    await this.#sip.close();
    await this.endpoint.close();
  }

  /** Checks that `nodes` tile the space exactly (spec §2: every point has exactly one owner). */
  static tiling(nodes: readonly OverlayNode[]): ReturnType<typeof checkTiling> {
    // A zone being handed over is its taker's from the moment the taker has it (the sender refuses writes into it
    // until the answer arrives and it is dropped): counted as the sender's only while nobody else holds it.
    const handing = (n: OverlayNode, z: Zone) => n.#own.handingOff?.equals(z) === true;
    const held = nodes.flatMap((n) => n.#own.zones.filter((z) => !handing(n, z)));
    const handed = nodes.flatMap((n) => n.#own.zones.filter((z) => handing(n, z)));
    return checkTiling([...held, ...handed.filter((z) => !held.some((h) => h.overlaps(z)))]);
  }

  // --- settling: re-announce, re-replicate, merge --------------------------------------------------------

  /** One settle pass (see Settler): false when this node stopped being a peer during it. */
  async #settlePass(): Promise<boolean> {
    await this.#own.exclusive(() => this.#transfer.reassign());
    if (this.#own.state !== 'peer') return false;
    this.#members.pruneNonAdjacent();
    this.#links.connectMissing(this.#neighbours.values());
    if (this.#announcer.due(this.#own.version)) await this.#announcer.announce(this.#own.version);
    else if (this.#delta.pending) await this.#announcer.announceDelta();
    await this.#replicator.pass();
    return true;
  }

  // --- sessions and handlers -----------------------------------------------------------------------------

  // --- helpers -------------------------------------------------------------------------------------------

  #info(zones: readonly Zone[], version = this.#own.version): NeighbourInfo {
    return {
      peerId: this.peerId,
      zones: this.#peerInfo.encodeZones(zones),
      contact: this.contact,
      version,
    };
  }

  /** See ZoneClaimsContext.contested: the zones of the dead peers remembered, and the zone being handed over. */
  #contested(): Zone[] {
    const handing = this.#own.handingOff;
    const resumed = this.#resumed;
    return [
      ...[...this.#memory.deadPeers.values()].flatMap((d) => d.zones),
      ...(handing === undefined ? [] : [handing]),
      ...(resumed !== undefined && this.#clock.now() < resumed.until ? resumed.zones : []),
    ];
  }

  #assertState(state: OverlayNodeState): void {
    if (this.#own.state !== state)
      throw new DhtError('NOT_A_PEER', `node is ${this.#own.state}, expected ${state}`);
  }
}
