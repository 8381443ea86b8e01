import { randomBytes } from 'node:crypto';
import { checkTiling, hashKey, Zone } from '@xpp/can';
import { Emitter, systemClock, type Clock, type TimerHandle } from '@xpp/reliability';
import { SipUserAgent, UdpSipTransport, XppEndpoint, type DatagramTransport } from '@xpp/session-sdp';
import { DhtError } from '../errors.js';
import type { RecordKind } from '../kinds.js';
import type { PeerCertificate } from '../membership/certificate.js';
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
import { withOrigin } from '../origin.js';
import type { RecordStore } from '../store.js';
import type { BindingId, Contact, NeighbourInfo, WireRecord } from '../values.js';
import { NodeCounters } from './counters.js';
import type { OverlayNodeEvents } from './events.js';
import { neighbourSummary, peerIdHex } from './neighbour-table.js';
import {
  checkOptions,
  nodeSettings,
  OVERLAY_NODE_DEFAULTS,
  type NeighbourSummary,
  type OverlayNodeOptions,
  type OverlayNodeState,
  type OverlayNodeStats,
} from './node-options.js';
import { walkCredentials, type CredentialExport } from './credential-export-walk.js';
import { composeParts, type NodeParts } from './node-parts.js';

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
  /** The parts this node is made of (node-parts.ts). */
  readonly #p: NodeParts;
  readonly endpoint: XppEndpoint;
  readonly ua: SipUserAgent;
  readonly #clock: Clock;
  readonly #claimTimeout: number;
  /** The zones a resume took back, contested until `until` (monotonic ms): see resume(). */
  #resumed: { readonly zones: readonly Zone[]; readonly until: number } | undefined;
  /** The next call of the neighbours a resumed node had (see resume). */
  #resumeTimer: TimerHandle | undefined;
  readonly #sip: DatagramTransport;
  readonly #events = new Emitter<OverlayNodeEvents>();
  readonly #counters = new NodeCounters();
  /** The overlay's id (spec §4): given, made by bootstrap(), or the inviter's once JOIN made this node a peer. */
  #overlayId: Uint8Array | undefined;
  /** The overlay id of the invitation a candidate accepted last (its JOIN comes on that session). */
  #invitedTo: Uint8Array | undefined;

  private constructor(init: { endpoint: XppEndpoint; sip: DatagramTransport; options: OverlayNodeOptions }) {
    const options = init.options;
    const s = nodeSettings(options);
    const membership = options.membership;
    this.peerId = membership?.identity.peerId ?? options.peerId ?? new Uint8Array(randomBytes(16));
    this.id = peerIdHex(this.peerId);
    this.dimensions = options.dimensions ?? 4;
    this.#clock = options.clock ?? systemClock;
    this.#claimTimeout = s.claimTimeout;
    this.#overlayId = options.overlayId === undefined ? undefined : new Uint8Array(options.overlayId);
    this.#p = composeParts(options, s, {
      peerId: this.peerId,
      id: this.id,
      dimensions: this.dimensions,
      clock: this.#clock,
      counters: this.#counters,
      events: this.#events,
      endpoint: () => this.endpoint,
      ua: () => this.ua,
      overlayId: () => this.#overlayId,
      invitedTo: (overlay) => {
        this.#invitedTo = overlay;
      },
      adoptInvitation: () => {
        this.#overlayId ??= this.#invitedTo;
      },
      get: (key, kind, avoid) => this.#get(key, kind, avoid),
      info: (zones, version) => this.#info(zones, version),
      contested: () => this.#contested(),
      settlePass: () => this.#settlePass(),
      close: () => this.close(),
    });
    this.store = this.#p.store;
    this.endpoint = init.endpoint;
    this.#sip = init.sip;
    this.ua = new SipUserAgent({
      transport: init.sip,
      clock: this.#clock,
      user: this.id,
      onInvite: (invite) => this.#p.admission.onInvite(invite),
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
    return this.#p.own.state;
  }

  get zones(): readonly Zone[] {
    return this.#p.own.zones;
  }

  /** The version of this node's own announcements (raised at each change of its zones); persisted for resume. */
  get version(): number {
    return this.#p.own.version;
  }

  /** The overlay's id in lower-case hex (spec §4); undefined until this node founds or joins one. */
  get overlayId(): string | undefined {
    return this.#overlayId === undefined ? undefined : Buffer.from(this.#overlayId).toString('hex');
  }

  /** The certificate this node presents (spec §5.3): its membership's, or the last renewal; undefined without. */
  get certificate(): PeerCertificate | undefined {
    return this.#p.auth.certificate;
  }

  /**
   * Gives the running node its renewed certificate (spec §5.3): every session set up from now, and every ORIGIN the
   * node signs, carries it; open sessions stay up. Refused — `CERTIFICATE_REFUSED` with its `reason` — unless it is
   * for this node's key, signed by one of its administrator keys, for its domain and valid now, and
   * `INVALID_ARGUMENT` unless it expires later than the one in use (or without membership). An ORIGIN authority
   * given as the `origin` option is the caller's to renew.
   */
  renewCertificate(certificate: PeerCertificate): void {
    this.#p.auth.renew(certificate);
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
    return [...this.#p.neighbours.values()].map(neighbourSummary);
  }

  get stats(): OverlayNodeStats {
    const store = this.store.stats;
    const pendingTakeovers = this.#p.takeovers.pending;
    return {
      state: this.#p.own.state,
      zones: this.#p.own.zones.map((z) => z.toString()),
      volume: this.#p.own.zones.reduce((sum, z) => sum + z.volume, 0),
      neighbours: this.#p.neighbours.size,
      records: store.records,
      recordsByRole: { primary: store.primaries, replica: store.replicas },
      operations: { ...this.#counters.handled },
      requests: { ...this.#counters.started },
      hops: [...this.#counters.hops],
      refused: { ...this.#counters.refused },
      replication: this.#p.replicator.stats,
      takeovers: {
        pending: pendingTakeovers,
        won: this.#p.takeovers.won,
        yielded: this.#p.takeovers.yielded,
      },
      connecting: this.#p.links.connecting,
      settling: this.#p.settler.busy,
      settled:
        this.#p.settler.settled &&
        this.#p.replicator.inFlight === 0 &&
        this.#p.links.connecting === 0 &&
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
    this.#p.own.setState('peer');
    this.#p.own.set([Zone.root(this.dimensions)], 'bootstrap');
    this.#p.settler.startRefresh();
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
    this.#p.own.setState('peer');
    this.#p.own.resume([...state.zones], state.version);
    // Its zones may have been taken over while it was down: until the recalls are done, a neighbour's claim on them
    // is a double ownership to repair (the lower id keeps), not a claim to refuse.
    this.#resumed = {
      zones: [...state.zones],
      until: this.#clock.now() + this.#claimTimeout * 2 ** (RESUME_RECALLS + 1),
    };
    const recall = (round: number): void => {
      if (this.#p.own.state !== 'peer') return;
      for (const n of state.neighbours) {
        // Version 0: whatever the neighbour announces of itself supersedes what was persisted of it; an entry it
        // announced since (or dropped as unreachable) is taken as it is or again.
        const entry =
          this.#p.neighbours.get(n.id) ??
          this.#p.members.upsert({
            peerId: new Uint8Array(Buffer.from(n.id, 'hex')),
            zones: n.zones,
            contact: { uri: n.uri, candidates: [] },
            version: 0,
          });
        if (entry !== undefined && entry.link === undefined && entry.connecting === undefined)
          void this.#p.links.connect(entry);
      }
      // A neighbour that still holds its link to this node's previous run refuses the first calls until that link
      // fails its probe (Links.probe): called again after 1, 2, 4, 8 claim timeouts. Who is still down calls in.
      if (round < RESUME_RECALLS)
        this.#resumeTimer = this.#clock.setTimer(() => recall(round + 1), this.#claimTimeout * 2 ** round);
    };
    recall(0);
    this.#p.settler.startRefresh();
  }

  /**
   * Invites a candidate (spec §7) at `uri` to become a peer: opens an XPP session to it by SIP, hands it the upper
   * half of this node's zone (or, holding several zones, one of them whole) with the records and neighbours of
   * that zone (JOIN), and announces the change to every neighbour (NEIGHBOUR-UPDATE), who open their own sessions
   * to the newcomer.
   */
  async invite(uri: string, options: { signal?: AbortSignal } = {}): Promise<{ peerId: string; zone: Zone }> {
    this.#assertState('peer');
    return this.#p.own.exclusive(async () => {
      this.#assertState('peer');
      return this.#p.transfer.invite(uri, options.signal);
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
    if (this.#p.own.state === 'closed') return;
    this.#assertState('peer');
    options.signal?.throwIfAborted();
    const confirmed = await this.#p.own.exclusive(async () => {
      this.#assertState('peer');
      return this.#p.transfer.handOverAll(options.signal);
    });
    if (!confirmed) {
      await this.close();
      throw new DhtError(
        'NO_ROUTE',
        'a taker did not confirm its zone: this node closed as a crashed peer does',
      );
    }
    if (this.#p.own.zones.length === 0) await this.#p.transfer.depart();
    else await this.close();
  }

  /** Stores a record at the owner of its key's point. Resolves with the lifetime granted, in seconds. */
  async put(key: string, kind: RecordKind, value: Uint8Array, lifetime: number): Promise<number> {
    const response = await this.#p.router.originate(
      'PUT',
      hashKey(key, this.dimensions),
      DhtOperation.PUT.type,
      withOrigin(this.#p.origin, DhtOperation.PUT.type, encodePut({ key, kind, value, lifetime })),
    );
    return decodePutResponse(response).lifetime;
  }

  /** The records of `key` and `kind` at the owner of the key's point (empty when there are none). */
  async get(key: string, kind: RecordKind): Promise<WireRecord[]> {
    return this.#get(key, kind);
  }

  async #get(key: string, kind: RecordKind, avoid?: string): Promise<WireRecord[]> {
    const response = await this.#p.router.originate(
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
        this.#p.router.originate('EXPORT-CREDENTIALS', target, DhtOperation.EXPORT_CREDENTIALS.type, inner),
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
    await this.#p.router.originate(
      'REMOVE',
      hashKey(key, this.dimensions),
      DhtOperation.REMOVE.type,
      withOrigin(
        this.#p.origin,
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
    const response = await this.#p.router.originate(
      'REGISTER-BIND',
      hashKey(aor, this.dimensions),
      type,
      withOrigin(this.#p.origin, type, encodeRegisterBind({ aor, digest, change })),
    );
    return decodeBindResponse(response);
  }

  /** AUTHORIZE: whether `digest` answers with the secret of `aor` (its owner says yes or no; HA1 stays there). */
  async authorize(aor: string, digest: DigestResponseFields): Promise<DigestVerdict> {
    const type = DhtOperation.AUTHORIZE.type;
    const response = await this.#p.router.originate(
      'AUTHORIZE',
      hashKey(aor, this.dimensions),
      type,
      withOrigin(this.#p.origin, type, encodeAuthorize({ aor, digest })),
    );
    return decodeBindResponse(response).verdict;
  }

  /** Closes every session and both sockets (or transports: the node owns what it was given). */
  async close(): Promise<void> {
    if (this.#p.own.state === 'closed') return;
    this.#p.own.setState('closed');
    this.#p.settler.stop();
    if (this.#resumeTimer !== undefined) this.#clock.clearTimer(this.#resumeTimer);
    this.#p.takeovers.stop();
    this.#p.transfer.stop();
    this.#p.admission.stop();
    for (const n of [...this.#p.neighbours.values()]) {
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
    const handing = (n: OverlayNode, z: Zone) => n.#p.own.handingOff?.equals(z) === true;
    const held = nodes.flatMap((n) => n.#p.own.zones.filter((z) => !handing(n, z)));
    const handed = nodes.flatMap((n) => n.#p.own.zones.filter((z) => handing(n, z)));
    return checkTiling([...held, ...handed.filter((z) => !held.some((h) => h.overlaps(z)))]);
  }

  // --- settling: re-announce, re-replicate, merge --------------------------------------------------------

  /** One settle pass (see Settler): false when this node stopped being a peer during it. */
  async #settlePass(): Promise<boolean> {
    await this.#p.own.exclusive(() => this.#p.transfer.reassign());
    if (this.#p.own.state !== 'peer') return false;
    this.#p.members.pruneNonAdjacent();
    this.#p.links.connectMissing(this.#p.neighbours.values());
    if (this.#p.announcer.due(this.#p.own.version)) await this.#p.announcer.announce(this.#p.own.version);
    else if (this.#p.delta.pending) await this.#p.announcer.announceDelta();
    await this.#p.replicator.pass();
    return true;
  }

  // --- sessions and handlers -----------------------------------------------------------------------------

  // --- helpers -------------------------------------------------------------------------------------------

  #info(zones: readonly Zone[], version = this.#p.own.version): NeighbourInfo {
    return {
      peerId: this.peerId,
      zones: this.#p.peerInfo.encodeZones(zones),
      contact: this.contact,
      version,
    };
  }

  /** See ZoneClaimsContext.contested: the zones of the dead peers remembered, and the zone being handed over. */
  #contested(): Zone[] {
    const handing = this.#p.own.handingOff;
    const resumed = this.#resumed;
    return [
      ...[...this.#p.memory.deadPeers.values()].flatMap((d) => d.zones),
      ...(handing === undefined ? [] : [handing]),
      ...(resumed !== undefined && this.#clock.now() < resumed.until ? resumed.zones : []),
    ];
  }

  #assertState(state: OverlayNodeState): void {
    if (this.#p.own.state !== state)
      throw new DhtError('NOT_A_PEER', `node is ${this.#p.own.state}, expected ${state}`);
  }
}
