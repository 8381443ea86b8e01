import { randomBytes } from 'node:crypto';
import {
  checkTiling,
  chooseTakeover,
  hashKey,
  pointCodec,
  Zone,
  type TakeoverCandidate,
  type TakeoverOptions,
} from '@xpp/can';
import { Emitter, systemClock, type Clock } from '@xpp/reliability';
import {
  acceptXppCall,
  placeXppCall,
  SipUserAgent,
  UdpSipTransport,
  XppEndpoint,
  type DatagramTransport,
  type IncomingInvite,
  type XppCall,
  type XppSession,
} from '@xpp/session-sdp';
import { WireError, type Message, type XppOption } from '@xpp/wire';
import { DhtError } from '../errors.js';
import { type RecordKind } from '../kinds.js';
import { DEFAULT_HOP_LIMIT } from '../limits.js';
import {
  decodeHandoff,
  decodeNeighbourUpdate,
  decodePutResponse,
  decodeRecords,
  decodeRoute,
  decodeTakeover,
  encodeGet,
  encodeHandoff,
  encodeNeighbourUpdate,
  encodePut,
  encodeRemove,
  encodeTakeover,
} from '../messages.js';
import { DhtOperation } from '../operations.js';
import { DhtOption } from '../options.js';
import { batchRecords } from '../records.js';
import { MemoryRecordStore, type RecordStore } from '../store.js';
import type { BindingId, Contact, NeighbourInfo, WireRecord } from '../values.js';
import { Announcer } from './announcer.js';
import { NodeCounters } from './counters.js';
import type { OverlayNodeEvents } from './events.js';
import {
  adjacent,
  neighbourSummary,
  NeighbourTable,
  notePeer,
  peerIdHex,
  type Neighbour,
  type PeerView,
} from './neighbour-table.js';
import {
  checkOptions,
  credentialVerifier,
  isRecordStore,
  OVERLAY_NODE_DEFAULTS,
  type NeighbourSummary,
  type OverlayNodeOptions,
  type OverlayNodeState,
  type OverlayNodeStats,
} from './node-options.js';
import { PeerInfoCodec } from './peer-info.js';
import { PeerListDelta } from './peer-list-delta.js';
import { peerFromUri } from './peer-uri.js';
import { Probation } from './probation.js';
import { encodeReplicate, REPLICATE } from './replication.js';
import { Ownership } from './ownership.js';
import { Replicator } from './replicator.js';
import { assertWithin, ReplicaHolder } from './replica-holder.js';
import { NeighbourRights } from './rights.js';
import { Router } from './routing.js';
import { Dispatcher, type OverlayHandler } from './dispatch.js';
import { Links } from './links.js';
import { Membership } from './membership.js';
import { PeerMemory } from './peer-memory.js';
import { serving } from './parts.js';
import { Settler } from './settler.js';
import {
  prefers,
  TakeoverTable,
  takeoverOrder,
  type ClaimAnswer,
  type DeadPeer,
  type Takeover,
} from './takeover.js';
import { ZoneRecords } from './zone-records.js';
import { mergeSiblings, overlapping, resolveOverlap, subtractZones, zoneContaining } from './zones.js';

/**
 * One XPP-PCAN peer (spec xpp-pcan): owns a zone of the CAN (two or more during a takeover), keeps an XPP
 * session (set up by SIP) to each neighbour, routes requests greedily hop by hop, stores the records whose keys
 * hash into its zones and replicates them to the peers that would take its zones over. A node starts as a
 * candidate; it becomes a peer by `bootstrap()` (the first peer of an overlay, owning the whole space) or by being
 * invited by a peer (`invite()` on that peer); it goes by `leave()` (handing its zones over) or by crashing (its
 * neighbours take over). See docs/decisions/dht-overlay-node-plan.md.
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
  readonly #sip: DatagramTransport;
  readonly #neighbours: NeighbourTable;
  readonly #maxNeighbours: number;
  readonly #hopLimit: number;
  readonly #timeout: number;
  readonly #replicas: number;
  readonly #takeoverOptions: TakeoverOptions;
  readonly #claimTimeout: number;
  /** How long a crash may go unnoticed by a neighbour: a keepalive interval per allowed miss, and one more. */
  readonly #detectionWindow: number;
  readonly #refreshInterval: number;
  readonly #settleDelay: number;
  readonly #batchOctets: number;
  readonly #points: ReturnType<typeof pointCodec>;
  readonly #peerInfo: PeerInfoCodec;
  readonly #events = new Emitter<OverlayNodeEvents>();
  readonly #counters = new NodeCounters();
  readonly #probation: Probation;
  readonly #takeovers: TakeoverTable;
  readonly #memory: PeerMemory;
  readonly #members: Membership;
  readonly #own: Ownership;
  readonly #settler: Settler;
  /** The accepted invitation of a candidate, settled once the session is open. */
  #inviterCall: Promise<XppCall> | undefined;
  /** The session of the invitation a candidate accepted: the only one its JOIN may come on. */
  #inviterSession: XppSession | undefined;
  /** Which accepted invitation is the current one (a later one supersedes it until a JOIN arrives). */
  #invitation: symbol | undefined;
  /** Changes of the neighbour list not announced yet. */
  readonly #delta: PeerListDelta;
  readonly #announcer: Announcer;
  readonly #replicator: Replicator;
  readonly #router: Router;
  readonly #replicaHolder: ReplicaHolder;
  readonly #dispatcher: Dispatcher;
  readonly #links: Links;
  #takeoversWon = 0;
  #takeoversYielded = 0;

  private constructor(init: { endpoint: XppEndpoint; sip: DatagramTransport; options: OverlayNodeOptions }) {
    const options = init.options;
    const d = OVERLAY_NODE_DEFAULTS;
    this.peerId = options.peerId ?? new Uint8Array(randomBytes(16));
    this.id = peerIdHex(this.peerId);
    this.dimensions = options.dimensions ?? 4;
    this.#clock = options.clock ?? systemClock;
    this.#takeovers = new TakeoverTable(this.#clock);
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
    this.store = isRecordStore(options.store)
      ? options.store
      : new MemoryRecordStore({
          ...options.store,
          clock: this.#clock,
          ...(verifyCredential === undefined ? {} : { verifyCredential }),
        });
    this.#records = new ZoneRecords(this.store, this.dimensions);
    this.#maxNeighbours = options.maxNeighbours ?? d.maxNeighbours;
    this.#neighbours = new NeighbourTable(this.#maxNeighbours);
    this.#delta = new PeerListDelta(this.#maxNeighbours);
    this.#hopLimit = options.hopLimit ?? DEFAULT_HOP_LIMIT;
    this.#timeout = options.requestTimeout ?? d.requestTimeout;
    this.#probation = new Probation(this.#clock, {
      capacity: d.maxProbation,
      maxRefused: d.maxTombstones,
      timeout: this.#timeout,
    });
    this.#replicas = options.replicas ?? d.replicas;
    this.#takeoverOptions = options.takeover ?? {};
    this.#claimTimeout = options.claimTimeout ?? d.claimTimeout;
    this.#detectionWindow =
      (options.keepaliveInterval ?? d.keepaliveInterval) *
      ((options.keepaliveMisses ?? d.keepaliveMisses) + 1);
    this.#refreshInterval = options.refreshInterval ?? d.refreshInterval;
    this.#memory = new PeerMemory(this.#clock, {
      maxTombstones: d.maxTombstones,
      maxDeadPeers: d.maxDeadPeers,
      unreachableFor: this.#refreshInterval,
    });
    this.#settleDelay = options.settleDelay ?? d.settleDelay;
    this.#settler = new Settler({
      clock: this.#clock,
      settleDelay: this.#settleDelay,
      refreshInterval: this.#refreshInterval,
      state: () => this.#own.state,
      pass: () => this.#settlePass(),
      tick: () => {
        this.#announcer.expire();
        this.#replicaHolder.prune();
        this.#replicator.verify();
      },
      failed: () => this.#counters.refuse('settle-failed'),
    });
    this.#batchOctets = options.replicationBatchOctets ?? d.replicationBatchOctets;
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
      replicas: this.#replicas,
      takeoverOptions: this.#takeoverOptions,
      batchOctets: this.#batchOctets,
      zones: () => this.#own.zones,
      pointOf: (record) => this.#records.pointOf(record),
      encodeZones: (zones) => this.#peerInfo.encodeZones(zones),
      request: (n, type, options) => this.#links.requestPeer(n, type, options),
      replicated: (event) => this.#events.emit('replicated', event),
      resync: () => this.#settler.request(),
    });
    this.#members = new Membership({
      selfId: this.id,
      clock: this.#clock,
      table: this.#neighbours,
      delta: this.#delta,
      memory: this.#memory,
      peerInfo: this.#peerInfo,
      counters: this.#counters,
      maxNeighbours: this.#maxNeighbours,
      refreshInterval: this.#refreshInterval,
      claimTimeout: this.#claimTimeout,
      links: {
        connect: (n, signal) => this.#links.connect(n, signal),
        detach: (n) => this.#links.detach(n),
        request: (link, type, options, timeout) => this.#links.request(link, type, options, timeout),
        requestPeer: (n, type, options, timeout) => this.#links.requestPeer(n, type, options, timeout),
      },
      announcer: this.#announcer,
      zones: () => this.#own.zones,
      coordinating: () => this.#takeovers.coordinating(),
      repairOverlap: (n) => this.#repairOverlap(n),
      resolveTakeovers: () => this.#resolveTakeovers(),
      forgotten: (n, reason) => {
        this.#replicator.forget(n.id);
        for (const wake of n.waiters.splice(0)) wake(undefined);
        this.#events.emit('neighbour-down', { id: n.id, zones: n.zones, reason });
      },
      requestSettle: (delay, routine) => this.#settler.request(delay, routine),
    });
    this.#router = new Router({
      hopLimit: this.#hopLimit,
      points: this.#points,
      store: this.store,
      counters: this.#counters,
      state: () => this.#own.state,
      zones: () => this.#own.zones,
      writable: (point) => this.#own.writable(point),
      routable: () => this.#neighbours.routable(),
      neighbour: (id) => this.#neighbours.get(id),
      requestPeer: (n, type, options, timeout) => this.#links.requestPeer(n, type, options, timeout),
      replicateWrite: (point, type, options) => {
        const zone = zoneContaining(this.#own.zones, point);
        if (zone !== undefined) this.#replicator.write(zone, type, options);
      },
    });
    this.#replicaHolder = new ReplicaHolder({
      dimensions: this.dimensions,
      records: this.#records,
      counters: this.#counters,
      state: () => this.#own.state,
      zones: () => this.#own.zones,
      decodeZones: (zones) => this.#peerInfo.decodeZones(zones),
      neighbour: (id) => this.#neighbours.get(id),
      ownedNearby: (p) =>
        [...this.#neighbours.values()].some((n) => zoneContaining(n.zones, p) !== undefined) ||
        [...this.#takeovers.values()].some((t) => t.state !== 'done' && t.zone.contains(p)),
      // Peers dead for long enough that every takeover of their zones is over are left out: their replicas are the
      // owner's own copies by now, and sending them back on every re-replication would only double it.
      recentDeadZones: () => this.#memory.deadZonesSince(this.#clock.now() - 4 * this.#detectionWindow),
      handBack: (owner, zones, records) => void this.#handBackRecords(owner, zones, records),
    });
    this.#links = new Links({
      selfId: this.id,
      clock: this.#clock,
      dialer: {
        place: (uri, onSession, signal) =>
          placeXppCall(this.ua, this.endpoint, uri, {
            ...(signal === undefined ? {} : { signal }),
            onSession,
          }),
        accept: (invite, onSession) => acceptXppCall(invite, this.endpoint, { onSession }),
      },
      counters: this.#counters,
      timeout: this.#timeout,
      claimTimeout: this.#claimTimeout,
      state: () => this.#own.state,
      isCurrent: (n) => this.#members.isCurrent(n),
      serve: (session) => this.#dispatcher.serve(session),
      linkDied: (n) => this.#onLinkDied(n),
      linkUp: (n) => this.#events.emit('neighbour-up', { id: n.id, zones: n.zones }),
      unreachable: (n) => {
        this.#members.forget(n, 'unreachable');
        this.#memory.unreachable.mark(n.id);
      },
      hello: () => this.#announcer.partialUpdate(),
      requestSettle: (delay, routine) => this.#settler.request(delay, routine),
    });
    this.#dispatcher = new Dispatcher(
      {
        counters: this.#counters,
        rights: new NeighbourRights({
          counters: this.#counters,
          isNeighbour: (id) => this.#neighbours.get(id) !== undefined,
          admit: (from, request) => this.#admit(from, request),
        }),
        peerOf: (session) => this.#links.peerOf(session),
      },
      this.#handlers(),
    );
    this.endpoint = init.endpoint;
    this.#sip = init.sip;
    this.ua = new SipUserAgent({
      transport: init.sip,
      clock: this.#clock,
      user: this.id,
      onInvite: (invite) => this.#onInvite(invite),
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

  /** Where other peers reach this node: its SIP URI (the INVITE that opens a session) and its XPP address. */
  get contact(): Contact {
    return {
      uri: this.ua.contactUri,
      candidates: [
        { type: 'host', address: this.endpoint.address.address, port: this.endpoint.address.port },
      ],
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
      takeovers: { pending: pendingTakeovers, won: this.#takeoversWon, yielded: this.#takeoversYielded },
      connecting: this.#links.connecting,
      settling: this.#settler.busy,
      settled:
        this.#settler.settled &&
        this.#replicator.inFlight === 0 &&
        this.#links.connecting === 0 &&
        pendingTakeovers === 0,
    };
  }

  /** Makes this node the first peer of a new overlay: it owns the whole space. */
  bootstrap(): void {
    this.#assertState('candidate');
    this.#own.setState('peer');
    this.#own.set([Zone.root(this.dimensions)], 'bootstrap');
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
      const whole = this.#own.zones.length > 1;
      const zone = whole ? (this.#own.zones[this.#own.zones.length - 1] as Zone) : this.#own.zones[0];
      if (zone === undefined || (!whole && !zone.canSplit))
        throw new DhtError('INVALID_ARGUMENT', 'this node has no zone it can split');
      const call = await placeXppCall(this.ua, this.endpoint, uri, {
        ...options,
        onSession: (session) => this.#dispatcher.serve(session),
      });
      const [kept, handed] = whole ? [undefined, zone] : zone.split();
      const remaining = this.#own.zones.filter((z) => z !== zone);
      if (kept !== undefined) remaining.unshift(kept);
      const response = await this.#own.whileHandingOff(handed, async () => {
        const records = this.#records.wire(this.#records.inZones([handed]));
        const newcomerNeighbours = [
          this.#info(remaining, this.#own.version + 1),
          ...this.#neighbours.adjacentTo([handed]).map((n) => this.#peerInfo.encode(n)),
        ];
        try {
          return await this.#links.request(
            call,
            DhtOperation.JOIN.type,
            encodeHandoff({
              zones: this.#peerInfo.encodeZones([handed]),
              neighbours: newcomerNeighbours,
              records,
            }),
          );
        } catch (error) {
          void call.hangUp().catch(() => undefined);
          throw error;
        }
      });
      this.#records.take([handed]);
      const newcomer = DhtOption.NEIGHBOUR.require(response.options);
      this.#own.set(remaining, 'invite');
      const entry = this.#members.upsert({ ...newcomer, zones: this.#peerInfo.decodeZones(newcomer.zones) });
      if (entry !== undefined) this.#links.attach(entry, call, true);
      // Tell everyone else about our new zone and the newcomer; those no longer adjacent drop the link.
      await this.#announcer.announce(this.#own.version, entry?.id);
      this.#members.pruneNonAdjacent();
      return { peerId: peerIdHex(newcomer.peerId), zone: handed };
    });
  }

  /**
   * Leaves the overlay gracefully (spec §3 LEAVE): hands each zone with its records to the neighbour that should
   * take it (the sibling when it is one whole zone, else the smallest volume), announces that it owns nothing,
   * and closes. Every point keeps exactly one owner. The last peer of an overlay just closes.
   */
  async leave(options: { signal?: AbortSignal } = {}): Promise<void> {
    if (this.#own.state === 'closed') return;
    this.#assertState('peer');
    options.signal?.throwIfAborted();
    await this.#own.exclusive(async () => {
      this.#assertState('peer');
      this.#own.setState('leaving');
      try {
        for (const zone of [...this.#own.zones]) {
          options.signal?.throwIfAborted();
          const taker = this.#takerOf(zone);
          if (taker === undefined) break;
          await this.#handOff(zone, taker, options.signal);
        }
      } catch (error) {
        this.#own.setState('peer');
        this.#settler.request();
        throw error;
      }
    });
    if (this.#own.zones.length === 0) await this.#depart();
    else await this.close();
  }

  /**
   * Tells every neighbour that this node owns nothing now, and closes. Nobody may keep a link or an entry to a peer
   * that owns nothing; the neighbours' entries go with it (the takers' new zones among them), so that they meet
   * the peers that own its zones now.
   */
  async #depart(): Promise<void> {
    const gone = encodeNeighbourUpdate({
      neighbours: [
        this.#info([], this.#own.version),
        ...[...this.#neighbours.values()].map((n) => this.#peerInfo.encode(n)),
      ],
    });
    await Promise.allSettled(
      [...this.#neighbours.values()].map((n) =>
        n.link === undefined
          ? undefined
          : this.#links.request(n.link, DhtOperation.NEIGHBOUR_UPDATE.type, gone),
      ),
    );
    await this.close();
  }

  /** Stores a record at the owner of its key's point. Resolves with the lifetime granted, in seconds. */
  async put(key: string, kind: RecordKind, value: Uint8Array, lifetime: number): Promise<number> {
    const response = await this.#router.originate(
      'PUT',
      hashKey(key, this.dimensions),
      DhtOperation.PUT.type,
      encodePut({ key, kind, value, lifetime }),
    );
    return decodePutResponse(response).lifetime;
  }

  /** The records of `key` and `kind` at the owner of the key's point (empty when there are none). */
  async get(key: string, kind: RecordKind): Promise<WireRecord[]> {
    const response = await this.#router.originate(
      'GET',
      hashKey(key, this.dimensions),
      DhtOperation.GET.type,
      encodeGet({ key, kind }),
    );
    return [...decodeRecords(response).records];
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
      encodeRemove({ key, kind, ...(bindingId === undefined ? {} : { bindingId }) }),
    );
  }

  /** Closes every session and both sockets (or transports: the node owns what it was given). */
  async close(): Promise<void> {
    if (this.#own.state === 'closed') return;
    this.#own.setState('closed');
    this.#settler.stop();
    this.#takeovers.clear();
    this.#probation.clear();
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
    return checkTiling(nodes.flatMap((n) => n.#own.zones));
  }

  // --- settling: re-announce, re-replicate, merge --------------------------------------------------------

  /** One settle pass (see Settler): false when this node stopped being a peer during it. */
  async #settlePass(): Promise<boolean> {
    await this.#own.exclusive(() => this.#reassign());
    if (this.#own.state !== 'peer') return false;
    this.#members.pruneNonAdjacent();
    this.#links.connectMissing(this.#neighbours.values());
    if (this.#announcer.due(this.#own.version)) await this.#announcer.announce(this.#own.version);
    else if (this.#delta.pending) await this.#announcer.announceDelta();
    await this.#replicator.pass();
    return true;
  }

  /**
   * CAN background reassignment (spec §3): sibling zones held here merge; a node holding several zones hands
   * one back to the neighbour holding its sibling whole, who merges them (one hand-back per settle).
   */
  async #reassign(): Promise<void> {
    if (this.#own.state !== 'peer') return;
    const merged = mergeSiblings(this.#own.zones);
    if (merged.length !== this.#own.zones.length) this.#own.set(merged, 'merge');
    if (this.#own.zones.length < 2 || this.#own.handBacksHeld(this.#clock.now())) return;
    for (const zone of this.#own.zones) {
      if (zone.depth === 0) continue;
      const sibling = zone.sibling();
      const holder = [...this.#neighbours.values()].find(
        (n) => n.link?.session.isOpen === true && n.zones.some((z) => z.equals(sibling)),
      );
      // Two multi-zone holders of each other's siblings would swap forever: only the higher id hands back.
      if (holder === undefined || (holder.zones.length > 1 && holder.id > this.id)) continue;
      try {
        await this.#handOff(zone, holder);
      } catch {
        this.#counters.refuse('handback-failed');
      }
      return;
    }
  }

  /**
   * Hands `zone` with its records to `taker` (LEAVE): the records travel ahead as replica batches, then LEAVE
   * commits — the taker promotes them and owns the zone.
   */
  async #handOff(zone: Zone, taker: Neighbour, signal?: AbortSignal): Promise<void> {
    const encoded = this.#peerInfo.encodeZones([zone]);
    await this.#own.whileHandingOff(zone, async () => {
      const records = this.#records.wire(this.#records.inZones([zone], 'primary'));
      for (const batch of batchRecords(records, this.#batchOctets)) {
        signal?.throwIfAborted();
        await this.#links.requestPeer(
          taker,
          REPLICATE.type,
          encodeReplicate({ zones: encoded, records: batch }),
        );
      }
      const remaining = this.#own.zones.filter((z) => !z.equals(zone));
      const others = this.#neighbours
        .adjacentTo([zone])
        .filter((n) => n !== taker)
        .map((n) => this.#peerInfo.encode(n));
      const response = await this.#links.requestPeer(
        taker,
        DhtOperation.LEAVE.type,
        encodeHandoff({
          zones: encoded,
          neighbours: [this.#info(remaining, this.#own.version + 1), ...others],
          records: [],
        }),
      );
      this.#records.take([zone]);
      // The taker's zones as it answered: this node's next announcement tells its neighbours who owns the zone now.
      const taken = DhtOption.NEIGHBOUR.find(response.options);
      if (taken !== undefined && peerIdHex(taken.peerId) === taker.id)
        this.#members.upsert(this.#peerInfo.view(taken));
      if (remaining.length === 0) this.#own.vacate();
      else this.#own.set(remaining, 'handoff');
      this.#events.emit('leave', {
        peer: this.id,
        taker: taker.id,
        zones: [zone],
        departed: remaining.length === 0,
      });
    });
  }

  /** The neighbour that should take `zone` when this node hands it over (spec §3 preference). */
  #takerOf(zone: Zone): Neighbour | undefined {
    const candidates = this.#neighbours
      .adjacentTo([zone])
      .filter((n) => n.zones.length > 0 && n.link?.session.isOpen === true)
      .map((n) => ({ id: n.id, zones: n.zones }));
    if (candidates.length === 0) return undefined;
    return this.#neighbours.get(chooseTakeover(zone, candidates, this.#takeoverOptions).taker);
  }

  // --- crash takeover (spec §3) --------------------------------------------------------------------------

  /** A neighbour's session died (keepalives unanswered, or delivery gave up): arm the takeover of its zones. */
  #onLinkDied(n: Neighbour): void {
    if (this.#own.state !== 'peer' || this.#neighbours.get(n.id) !== n) return;
    this.#members.forget(n, 'dead');
    const dead: DeadPeer = {
      id: n.id,
      peerId: n.peerId,
      version: n.version,
      zones: n.zones,
      peers: n.peers,
      diedAt: this.#clock.now(),
    };
    // Buried like a peer that left, so that lists relayed by peers that have not noticed cannot bring it back; a
    // peer only cut off from this node can still speak for itself (#learn, #admit). Out of the lists this node
    // keeps of its neighbours' neighbours too: a taker must not call it from one of them.
    this.#memory.markDead(dead);
    const gone: PeerView = { id: n.id, peerId: n.peerId, zones: [], contact: n.contact, version: n.version };
    notePeer(this.#neighbours.values(), gone, this.#maxNeighbours);
    for (const zone of dead.zones) if (adjacent([zone], this.#own.zones)) this.#armTakeover(dead, zone);
    this.#settler.request();
  }

  /**
   * Arms the takeover of `zone` of `dead`. A part of a dead zone (`whole`: the takeover of the rest, #narrow) keeps
   * the ranking of the whole among the survivors that abut the part, so that a replica holder takes the part when
   * one abuts it and the records go with the zone.
   */
  #armTakeover(dead: DeadPeer, zone: Zone, whole?: Takeover): void {
    if (this.#takeovers.get(dead.id, zone) !== undefined) return;
    const order =
      whole === undefined
        ? takeoverOrder(dead, zone, this.#self, this.#takeoverOptions)
        : whole.order.filter(
            (id) => id === this.id || adjacent(dead.peers.find((p) => p.id === id)?.zones ?? [], [zone]),
          );
    const holders = whole?.holders ?? order.slice(0, this.#replicas);
    this.#waitToClaim(this.#takeovers.add(dead, zone, order, holders));
  }

  /**
   * Survivors wait in takeover order, one claim timeout apart, so that the preferred one claims first even when
   * volumes tie (spec §3 timers; docs/decisions/dht-takeover.md).
   */
  #waitToClaim(t: Takeover): void {
    t.state = 'waiting';
    const rank = Math.max(0, t.order.indexOf(this.id));
    t.timer = this.#clock.setTimer(() => {
      t.timer = undefined;
      void this.#claim(t);
    }, rank * this.#claimTimeout);
  }

  /** This node's turn came (or a less preferred peer claimed first): claim the dead zone from the other survivors. */
  async #claim(t: Takeover): Promise<void> {
    if (t.state !== 'waiting' || this.#own.state !== 'peer') return;
    const rest = this.#unownedPartsOf(t.zone);
    if (rest.length !== 1 || !(rest[0] as Zone).equals(t.zone)) {
      this.#narrow(t, rest);
      return;
    }
    if (t.timer !== undefined) this.#clock.clearTimer(t.timer);
    t.timer = undefined;
    t.state = 'claiming';
    const body = [
      ...encodeTakeover({ deadPeer: t.dead.peerId, zones: this.#peerInfo.encodeZones([t.zone]) }),
      DhtOption.NEIGHBOUR.option(this.#info(this.#own.zones), true),
    ];
    const survivors = this.#survivorsOf(t);
    const answers = await Promise.all(
      survivors.map((n) =>
        // A survivor called just now gets a request timeout for the call and the claim together.
        this.#sendClaim(n, body, n.link === undefined ? this.#timeout : this.#claimTimeout),
      ),
    );
    if (t.state !== 'claiming') return;
    if (answers.includes('refused')) {
      this.#yield(t);
      return;
    }
    // A survivor whose session is open is alive as far as keepalives tell: one that did not answer within a claim
    // timeout is slow (a loaded host), and committing without it let it take the zone too. It is asked once more,
    // with a request timeout, before this node commits without its word.
    const slow = survivors.filter((n, i) => answers[i] === 'unreachable' && n.link?.session.isOpen === true);
    if (slow.length > 0) {
      const again = await Promise.all(slow.map((n) => this.#sendClaim(n, body, this.#timeout)));
      if (t.state !== 'claiming') return;
      if (again.includes('refused')) {
        this.#yield(t);
        return;
      }
    }
    await this.#own.exclusive(async () => this.#commitTakeover(t));
  }

  /**
   * Every other survivor of `t`'s dead zone, in the table and called when not linked: in a CAN the neighbours of a
   * zone are mostly not neighbours of each other, and a claim sent only over the links a survivor had reached
   * few of them — in the 1,000-peer simulation many claimers had none, and most dead zones were taken twice or
   * more. They become this node's neighbours if it takes the zone; if not, they are pruned once nothing is
   * pending. Survivors known dead or unreachable are skipped.
   */
  #survivorsOf(t: Takeover): Neighbour[] {
    const survivors: Neighbour[] = [];
    for (const id of t.order) {
      if (id === this.id) continue;
      let n = this.#neighbours.get(id);
      if (n === undefined) {
        const view = t.dead.peers.find((p) => p.id === id);
        if (
          view === undefined ||
          this.#memory.gone.buries(id, view.version) ||
          this.#memory.unreachable.has(id)
        )
          continue;
        n = this.#members.upsert(view);
        if (n === undefined) continue;
      }
      if (n.link === undefined) void this.#links.connect(n);
      survivors.push(n);
    }
    // And neighbours abutting the zone that the dead peer's list lacked (it may not have heard of them yet).
    for (const n of this.#neighbours.adjacentTo([t.zone])) if (!survivors.includes(n)) survivors.push(n);
    return survivors;
  }

  async #sendClaim(n: Neighbour, body: readonly XppOption[], timeout: number): Promise<ClaimAnswer> {
    try {
      await this.#links.requestPeer(n, DhtOperation.TAKEOVER.type, body, timeout);
      return 'ok';
    } catch (error) {
      return DhtError.is(error) && error.status === 409 ? 'refused' : 'unreachable';
    }
  }

  /** How long a survivor refuses other claimers after a grant: less than a refused claimer waits (#yield). */
  get #grantHold(): number {
    return 2 * this.#claimTimeout;
  }

  #yield(t: Takeover): void {
    if (t.timer !== undefined) this.#clock.clearTimer(t.timer);
    t.state = 'yielded';
    this.#takeoversYielded++;
    this.#settler.request();
    // If the winner dies before announcing the zone, claim again.
    t.timer = this.#clock.setTimer(() => {
      t.timer = undefined;
      if (this.#own.state !== 'peer' || !this.#takeovers.has(t)) return;
      if (this.#unownedPartsOf(t.zone).length === 0 || !adjacent([t.zone], this.#own.zones)) {
        this.#takeovers.delete(t);
        this.#offerReplicas(t);
        this.#settler.request();
      } else this.#waitToClaim(t);
    }, 3 * this.#claimTimeout);
  }

  #commitTakeover(t: Takeover): void {
    if (t.state !== 'claiming' || this.#own.state !== 'peer') return;
    if (this.#ownedElsewhere(t.zone)) {
      this.#yield(t);
      return;
    }
    t.state = 'done';
    this.#takeoversWon++;
    const promoted = this.#records.promote([t.zone]);
    this.#own.set([...this.#own.zones, t.zone], 'takeover');
    // A survivor that noticed the death later may race for the zone, and the repair makes the higher id give the
    // zone up (#repairOverlap): until every survivor has noticed, this node keeps its own zone rather than hand it
    // back for a merge, so that losing the race never leaves it with nothing.
    this.#own.holdHandBacks(this.#clock.now() + this.#detectionWindow);
    this.#settler.requestLater(this.#detectionWindow);
    for (const p of t.dead.peers) this.#members.learnView(p);
    this.#events.emit('takeover', { deadPeer: t.dead.id, zone: t.zone, promoted });
    t.timer = this.#clock.setTimer(() => {
      this.#takeovers.delete(t);
    }, 3 * this.#claimTimeout);
  }

  /** This node as a takeover ranks it: by its current zones. */
  get #self(): TakeoverCandidate<string> {
    return { id: this.id, zones: this.#own.zones };
  }

  /** Whether a neighbour owns (part of) `zone`: a dead zone someone has taken over already. */
  #ownedElsewhere(zone: Zone): boolean {
    for (const n of this.#neighbours.values()) if (overlapping([zone], n.zones)) return true;
    return false;
  }

  /**
   * The parts of `zone` that neither this node nor any neighbour owns, as zones. A dead zone partly owned is not
   * taken: survivors may know different zones of the dead peer (one that missed its last merge saw two halves), and
   * one that took the half it knew must not make the others drop the other half (a hole seen in the simulation).
   */
  #unownedPartsOf(zone: Zone): Zone[] {
    return subtractZones(
      [zone],
      [...this.#own.zones, ...[...this.#neighbours.values()].flatMap((n) => n.zones)],
    );
  }

  /**
   * Part of `t`'s dead zone is owned now: `t` gives way to a takeover of each unowned part that abuts this node's
   * zones, ranked and timed afresh; the parts that do not are left to the survivors they abut.
   */
  #narrow(t: Takeover, rest: readonly Zone[]): void {
    if (t.timer !== undefined) this.#clock.clearTimer(t.timer);
    this.#takeovers.delete(t);
    this.#offerReplicas(t);
    for (const part of rest) if (adjacent([part], this.#own.zones)) this.#armTakeover(t.dead, part, t);
    this.#settler.request();
  }

  /** Drops the pending takeovers of zones neighbours have announced they own now, all of each. */
  #resolveTakeovers(): void {
    for (const t of [...this.#takeovers.values()]) {
      if (t.state === 'done' || t.state === 'claiming' || this.#unownedPartsOf(t.zone).length > 0) continue;
      if (t.timer !== undefined) this.#clock.clearTimer(t.timer);
      this.#takeovers.delete(t);
      this.#offerReplicas(t);
    }
  }

  /**
   * Another survivor took a dead zone this node holds replicas of. A taker this node does not rank among the
   * replica holders may lack the records (survivors that rank alike never pick it, but a late or partial view
   * can): they are handed to it (#handBackRecords), and it keeps those it has no primary of.
   */
  #offerReplicas(t: Takeover): void {
    for (const owner of this.#neighbours.values()) {
      if (t.holders.includes(owner.id) || !overlapping([t.zone], owner.zones)) continue;
      const parts = owner.zones.filter((z) => t.zone.overlaps(z)).map((z) => (t.zone.covers(z) ? z : t.zone));
      const records = this.#records.wire(this.#records.inZones(parts, 'replica'));
      if (records.length > 0) void this.#handBackRecords(owner, parts, records);
    }
  }

  #onTakeover(from: string, request: Message): readonly XppOption[] {
    if (this.#own.state !== 'peer') throw new DhtError('NOT_A_PEER', 'not a peer');
    const claim = decodeTakeover(request.options);
    const claimer = DhtOption.NEIGHBOUR.find(request.options);
    const deadId = peerIdHex(claim.deadPeer);
    if (deadId === this.id) throw new DhtError('CONFLICT', 'this peer is alive');
    const claimerZones =
      claimer === undefined
        ? (this.#neighbours.get(from)?.zones ?? [])
        : this.#peerInfo.decodeZones(claimer.zones);
    // A survivor that has not noticed the death yet learns it from the claim.
    const stillHere = this.#neighbours.get(deadId);
    if (stillHere !== undefined) {
      this.#onLinkDied(stillHere);
      stillHere.link?.session.close();
    }
    const granting: Takeover[] = [];
    const now = this.#clock.now();
    for (const zone of this.#peerInfo.decodeZones(claim.zones)) {
      const t = this.#takeovers.get(deadId, zone);
      if (t?.state === 'done' || overlapping([zone], this.#own.zones) || this.#ownedElsewhere(zone)) {
        this.#tellOwners(from, zone);
        throw new DhtError('CONFLICT', `zone ${zone.path} is taken already`);
      }
      if (t === undefined) continue;
      // Granted to another claimer a moment ago: that one has likely committed, and its announcement is on the way.
      // The hold ends before a refused claimer tries again (#yield), so that two claimers that split the grants
      // do not keep splitting them (docs/decisions/dht-takeover.md).
      const held = t.granted;
      if (held !== undefined && held.id !== from && now - held.at < this.#grantHold) {
        this.#members.tellOf(from, [held.id]);
        throw new DhtError('CONFLICT', `zone ${zone.path} was granted to another claimer`);
      }
      const claimant = { id: from, zones: claimerZones };
      if (t.state !== 'yielded' && prefers(t, this.#self, claimant, this.#takeoverOptions)) {
        if (t.state === 'waiting') void this.#claim(t);
        throw new DhtError('CONFLICT', `a preferred survivor claims zone ${zone.path}`);
      }
      granting.push(t);
    }
    for (const t of granting) {
      if (t.state !== 'yielded') this.#yield(t);
      t.granted = { id: from, at: now };
    }
    return [];
  }

  /**
   * Tells a late claimer who owns `zone` now (this node and the neighbours holding part of it): it may not know
   * them yet — the taker's announcement reaches only peers it can call, and a survivor that has not noticed the
   * death yet refuses the taker's call on what it knew of it before.
   */
  #tellOwners(claimer: string, zone: Zone): void {
    const owners = [...this.#neighbours.values()].filter(
      (n) => n.id !== claimer && overlapping([zone], n.zones),
    );
    this.#members.tellOf(
      claimer,
      owners.map((n) => n.id),
    );
  }

  // --- sessions and handlers -----------------------------------------------------------------------------

  #onInvite(invite: IncomingInvite): void {
    const caller = peerFromUri(invite.request.headers.get('from'));
    if (this.#own.state === 'candidate') {
      // Passive join: the latest invitation a candidate accepted opens the session its JOIN must come on. An earlier
      // one that brought no JOIN yet (its inviter gave up or crashed) is hung up: its JOIN would now be refused, and
      // only one JOIN can ever succeed since the candidate is then a peer.
      const previous = this.#inviterCall;
      if (previous !== undefined) void previous.then((call) => call.hangUp()).catch(() => undefined);
      const token = Symbol('invitation');
      this.#invitation = token;
      this.#inviterSession = undefined;
      const accepting = acceptXppCall(invite, this.endpoint, {
        onSession: (session) => {
          if (this.#invitation === token) this.#inviterSession = session;
          this.#dispatcher.serve(session);
        },
      });
      this.#inviterCall = accepting;
      accepting.catch(() => this.#counters.refuse('invite-failed'));
      return;
    }
    let known = caller === undefined ? undefined : this.#neighbours.get(caller);
    if (known === undefined && caller !== undefined && this.#own.state === 'peer') {
      // A neighbour of a neighbour (met in its announced list) calls to coordinate a takeover.
      const view = this.#memory.secondDegree(caller, this.#neighbours.values());
      if (view !== undefined) known = this.#members.upsert(view);
    }
    if (known === undefined && caller !== undefined && this.#onProbation(invite, caller)) return;
    if (this.#own.state !== 'peer' || known === undefined || known.link?.session.isOpen === true) {
      this.#counters.refuse('uninvited-invite');
      invite.reject(403);
      return;
    }
    this.#links.acceptFrom(invite, known);
  }

  /**
   * Admits an unknown caller on probation when it was refused once before (it must know this node as a neighbour
   * from somewhere this node has not heard yet) and there is room; remembers it as refused otherwise. The call is
   * hung up unless the caller's own NEIGHBOUR-UPDATE shows zones abutting this node's within a request timeout.
   */
  #onProbation(invite: IncomingInvite, caller: string): boolean {
    if (this.#own.state !== 'peer') return false;
    const entry = this.#probation.begin(caller, (expired) => {
      this.#counters.refuse('probation-expired');
      void expired.call?.hangUp().catch(() => undefined);
    });
    if (entry === undefined) return false;
    void acceptXppCall(invite, this.endpoint, {
      onSession: (session) => {
        this.#links.bind(session, caller);
        this.#dispatcher.serve(session);
      },
    }).then(
      (call) => {
        entry.call = call;
        const n = this.#neighbours.get(caller);
        if (entry.admitted && n !== undefined) this.#links.attach(n, call, false);
        else if (!this.#probation.holds(caller, entry)) void call.hangUp().catch(() => undefined);
      },
      () => {
        this.#counters.refuse('invite-failed');
        if (this.#probation.holds(caller, entry)) this.#probation.end(caller);
      },
    );
    return true;
  }

  /**
   * The neighbour a NEIGHBOUR-UPDATE on a probation session makes of its caller, when the update's first entry is
   * the caller itself with zones abutting this node's; undefined otherwise (the update is refused as usual).
   */
  #admit(caller: string | undefined, request: Message): string | undefined {
    const entry = caller === undefined ? undefined : this.#probation.get(caller);
    if (caller === undefined || entry === undefined) return undefined;
    const [first] = decodeNeighbourUpdate(request.options).neighbours;
    if (first === undefined || peerIdHex(first.peerId) !== caller) return undefined;
    const view = this.#peerInfo.view(first);
    if (!this.#members.touches(view.zones)) {
      // It holds an old view of this node: show it this node's zones, so that it drops this node, and hang up.
      this.#probation.end(caller);
      const call = entry.call;
      if (call !== undefined) {
        const notice = this.#announcer.partialUpdate();
        void this.#links
          .request(call, DhtOperation.NEIGHBOUR_UPDATE.type, notice, this.#claimTimeout)
          .catch(() => undefined)
          .finally(() => void call.hangUp().catch(() => undefined));
      }
      return undefined;
    }
    this.#memory.gone.unbury(view.id);
    const n = this.#members.upsert(view);
    if (n === undefined) return undefined;
    this.#probation.end(caller);
    entry.admitted = true;
    if (entry.call !== undefined) this.#links.attach(n, entry.call, false);
    return caller;
  }

  /** The overlay operations a session serves, each with who may send it (see Dispatcher, NeighbourRights). */
  #handlers(): OverlayHandler[] {
    return [
      {
        op: DhtOperation.ROUTE.type,
        name: 'ROUTE',
        access: 'neighbour',
        handle: (request) => {
          if (!serving(this.#own.state)) throw new DhtError('NOT_A_PEER', 'not a peer');
          const route = decodeRoute(request.options);
          const target = this.#points.decode(route.target);
          return this.#router.route(target, route.operation, route.inner, route.hopLimit);
        },
      },
      {
        op: DhtOperation.JOIN.type,
        name: 'JOIN',
        access: 'open',
        handle: (request, session) => this.#onJoin(session, request),
      },
      {
        op: DhtOperation.NEIGHBOUR_UPDATE.type,
        name: 'NEIGHBOUR-UPDATE',
        access: 'announcer',
        handle: (request, sender) => this.#members.onNeighbourUpdate(sender, request),
      },
      {
        op: DhtOperation.LEAVE.type,
        name: 'LEAVE',
        access: 'neighbour',
        handle: (request, sender) => this.#onLeave(sender, request),
      },
      {
        op: DhtOperation.TAKEOVER.type,
        name: 'TAKEOVER',
        access: 'neighbour',
        handle: (request, sender) => this.#onTakeover(sender, request),
      },
      {
        op: REPLICATE.type,
        name: 'REPLICATE',
        access: 'neighbour',
        handle: (request, sender) => this.#replicaHolder.onReplicate(sender, request),
      },
      {
        op: DhtOperation.PUT.type,
        name: 'PUT',
        access: 'neighbour',
        handle: (request) => this.#replicaHolder.onPut(request),
      },
      {
        op: DhtOperation.REMOVE.type,
        name: 'REMOVE',
        access: 'neighbour',
        handle: (request) => this.#replicaHolder.onRemove(request),
      },
    ];
  }

  /** A candidate receives its zone, records and neighbours from the peer that invited it. */
  #onJoin(session: XppSession, request: Message): readonly XppOption[] {
    if (this.#own.state !== 'candidate' || session !== this.#inviterSession) {
      this.#counters.refuse('uninvited-join');
      throw new DhtError('FORBIDDEN', 'JOIN is accepted only by a candidate, from the peer that invited it');
    }
    const handoff = decodeHandoff(request.options);
    const zones = this.#peerInfo.decodeZones(handoff.zones);
    const [inviterInfo] = handoff.neighbours;
    if (inviterInfo === undefined) throw new DhtError('INVALID_ARGUMENT', 'JOIN lists no neighbours');
    this.#own.setState('peer');
    this.#records.insert(handoff.records, 'primary');
    this.#own.set(zones, 'join');
    for (const info of handoff.neighbours)
      this.#members.upsert({ ...info, zones: this.#peerInfo.decodeZones(info.zones) });
    // The first neighbour listed is the inviter, whose session this is; the link is its once the call settles.
    const inviter = this.#neighbours.get(peerIdHex(inviterInfo.peerId));
    if (inviter !== undefined) {
      this.#links.bind(session, inviter.id);
      void this.#inviterCall?.then((call) => this.#links.attach(inviter, call, false));
    }
    this.#settler.startRefresh();
    return [DhtOption.NEIGHBOUR.option(this.#info(this.#own.zones), true)];
  }

  /** A neighbour hands this node a zone (it leaves, or hands back one of several zones): take it and its records. */
  #onLeave(from: string, request: Message): readonly XppOption[] {
    if (this.#own.state !== 'peer') throw new DhtError('LEAVING', 'this node is not taking zones now');
    const handoff = decodeHandoff(request.options);
    const zones = this.#peerInfo.decodeZones(handoff.zones);
    const [senderInfo, ...others] = handoff.neighbours;
    if (senderInfo === undefined || peerIdHex(senderInfo.peerId) !== from)
      throw new WireError('BAD_VALUE', 'a LEAVE lists its sender first');
    const senderZones = this.#peerInfo.decodeZones(senderInfo.zones);
    if (handoff.returned === true) {
      if (!zones.every((z) => this.#own.zones.some((m) => m.covers(z))))
        throw new DhtError('CONFLICT', 'records returned for zones this node does not own');
      return this.#onHandedBack(from, { ...senderInfo, zones: senderZones }, zones, handoff.records);
    }
    if (overlapping(zones, this.#own.zones))
      throw new DhtError('CONFLICT', 'this node owns part of that zone');
    this.#records.insert(handoff.records, 'primary');
    this.#records.promote(zones);
    const departed = senderZones.length === 0;
    this.#own.set([...this.#own.zones, ...zones], departed ? 'leave' : 'handoff');
    this.#members.noteSender(from, { ...senderInfo, zones: senderZones });
    for (const info of others) {
      const n = this.#members.learn(info, from);
      if (n !== undefined) void this.#links.connect(n);
    }
    this.#events.emit('leave', { peer: from, taker: this.id, zones, departed });
    // The handing peer passes the taker's new zones on to its own neighbours (see #handOff).
    return [DhtOption.NEIGHBOUR.option(this.#info(this.#own.zones), true)];
  }

  /**
   * A peer that owned part of this node's zones too (a double ownership) gave it up and hands its records here
   * (#handBackRecords): they become primaries, where this node has none of its own of them.
   */
  #onHandedBack(
    from: string,
    sender: Omit<NeighbourInfo, 'zones'> & { readonly zones: readonly Zone[] },
    zones: readonly Zone[],
    records: readonly WireRecord[],
  ): readonly XppOption[] {
    assertWithin(records, zones, this.dimensions);
    // A key this node holds primaries of may have been written here since: its copy stands.
    const held = new Set(this.#records.inZones(zones, 'primary').map((r) => `${r.kind}/${r.key}`));
    const missing = records.filter((r) => !held.has(`${r.kind}/${r.key}`));
    this.#records.insert(missing, 'primary');
    if (missing.length > 0) {
      // The new primaries go to this zone's replica holders at the next pass.
      this.#replicator.refresh();
      this.#settler.request();
    }
    this.#members.noteSender(from, sender);
    return [DhtOption.NEIGHBOUR.option(this.#info(this.#own.zones), true)];
  }

  /**
   * A peer announced zones overlapping this node's: gives up the overlapping part as `resolveOverlap` decides (both
   * sides decide alike), keeping the records there as replicas (docs/decisions/dht-double-ownership.md).
   */
  #repairOverlap(peer: Neighbour): void {
    if (this.#own.state !== 'peer' || !overlapping(peer.zones, this.#own.zones)) return;
    if (this.#own.handingOff !== undefined) {
      // The taker of a zone being handed over may announce it before its answer arrives here: look again after.
      this.#clock.setTimer(() => {
        const again = this.#neighbours.get(peer.id);
        if (again !== undefined) this.#repairOverlap(again);
      }, this.#claimTimeout);
      return;
    }
    const kept = resolveOverlap(this.id, this.#own.zones, peer.id, peer.zones);
    if (kept.length === this.#own.zones.length && kept.every((z, i) => z.equals(this.#own.zones[i] as Zone)))
      return;
    this.#counters.refuse('double-ownership-repaired');
    // What this node gives up is what the peer announced of it: the smaller of each overlapping pair.
    const given = this.#own.zones.flatMap((m) =>
      peer.zones.filter((t) => m.overlaps(t)).map((t) => (m.covers(t) ? t : m)),
    );
    const records = this.#records.wire(this.#records.inZones(given, 'primary'));
    this.#records.demote(given);
    this.#own.set(kept, 'repair');
    // All this node held is the other peer's (it took a dead zone and had handed its own away): it owns nothing, so
    // it is no longer a peer. It leaves as a peer that handed everything over does; its operator may rejoin it.
    if (kept.length === 0) this.#own.setState('leaving');
    void (async () => {
      await this.#handBackRecords(peer, given, records);
      if (kept.length === 0) await this.#depart();
    })();
  }

  /**
   * Returns records of `zones` to `peer`, which owns them (LEAVE with RETURN): the records of zones given up in a
   * repair, or replicas of a dead zone its taker may lack (#offerReplicas) — only the survivors holding a dead
   * zone's replicas promote them on a takeover. What fails to go stays here as replicas.
   */
  async #handBackRecords(
    peer: Neighbour,
    zones: readonly Zone[],
    records: readonly WireRecord[],
  ): Promise<void> {
    const encoded = this.#peerInfo.encodeZones(zones);
    for (const batch of batchRecords(records, this.#batchOctets)) {
      const body = encodeHandoff({
        zones: encoded,
        neighbours: [this.#info(this.#own.zones)],
        records: batch,
        returned: true,
      });
      try {
        await this.#links.requestPeer(peer, DhtOperation.LEAVE.type, body);
      } catch {
        this.#counters.refuse('repair-handback-failed');
        return;
      }
    }
  }

  // --- helpers -------------------------------------------------------------------------------------------

  #info(zones: readonly Zone[], version = this.#own.version): NeighbourInfo {
    return {
      peerId: this.peerId,
      zones: this.#peerInfo.encodeZones(zones),
      contact: this.contact,
      version,
    };
  }

  #assertState(state: OverlayNodeState): void {
    if (this.#own.state !== state)
      throw new DhtError('NOT_A_PEER', `node is ${this.#own.state}, expected ${state}`);
  }
}
