import { randomBytes } from 'node:crypto';
import { checkTiling, hashKey, nextHop, pointCodec, zoneCodec, Zone, type Point } from '@xpp/can';
import { ReliabilityError, systemClock, type Clock } from '@xpp/reliability';
import {
  acceptXppCall,
  parseNameAddr,
  parseSipUri,
  placeXppCall,
  SipUserAgent,
  UdpSipTransport,
  XppEndpoint,
  type DatagramTransport,
  type IncomingInvite,
  type SecurityPolicy,
  type SipRequestHook,
  type SipUserAgentOptions,
  type XppCall,
  type XppSession,
} from '@xpp/session-sdp';
import { WireError, type Message, type XppOption } from '@xpp/wire';
import { DhtError } from '../errors.js';
import { type RecordKind } from '../kinds.js';
import { DEFAULT_HOP_LIMIT } from '../limits.js';
import {
  decodeGet,
  decodeHandoff,
  decodeNeighbourUpdate,
  decodePut,
  decodePutResponse,
  decodeRecords,
  decodeRemove,
  decodeRoute,
  encodeGet,
  encodeHandoff,
  encodeNeighbourUpdate,
  encodePut,
  encodePutResponse,
  encodeRecords,
  encodeRemove,
  encodeRoute,
} from '../messages.js';
import { DhtOperation } from '../operations.js';
import { DhtOption } from '../options.js';
import { nextHopLimit } from '../pending-forwards.js';
import { RecordStore, type RecordStoreOptions } from '../store.js';
import type { Contact, NeighbourInfo, WireRecord } from '../values.js';
import { adjacent, NeighbourTable, peerIdHex, type Neighbour } from './neighbour-table.js';

export interface OverlayNodeOptions {
  /** Address the node's SIP and XPP sockets bind (UDP). Default `127.0.0.1`. */
  readonly host?: string;
  /** SIP port. Default 0 (any). */
  readonly sipPort?: number;
  /** XPP port. Default 0 (any). */
  readonly xppPort?: number;
  /** Transports to use instead of UDP sockets (the in-memory network of a simulation). */
  readonly transports?: { readonly sip: DatagramTransport; readonly xpp: DatagramTransport };
  /** CAN dimensions, the same for every peer of an overlay. Default 4. */
  readonly dimensions?: number;
  /** 16 random octets by default. */
  readonly peerId?: Uint8Array;
  readonly clock?: Clock;
  /** Session security (default `required`). */
  readonly security?: SecurityPolicy;
  /** Bounds and credential verification of the local store. */
  readonly store?: Omit<RecordStoreOptions, 'clock'>;
  /** Neighbours kept at most. Default 128. */
  readonly maxNeighbours?: number;
  /** Hop limit of the ROUTEs this node starts. Default 64. */
  readonly hopLimit?: number;
  /** Deadline of one overlay request, ms. Default 10 000. */
  readonly requestTimeout?: number;
  /**
   * Shares the node's SIP socket with an application (a registrar and proxy): sees every request first and returns
   * `true` when it took it. INVITEs it leaves are the overlay's (sessions between peers).
   */
  readonly onSipRequest?: SipRequestHook;
  /** Sees SIP responses that match no transaction of the node first (a stateless proxy's). */
  readonly onSipStrayResponse?: SipUserAgentOptions['onStrayResponse'];
}

export type OverlayNodeState = 'candidate' | 'peer' | 'closed';

export interface OverlayNodeStats {
  readonly state: OverlayNodeState;
  readonly zones: readonly string[];
  readonly volume: number;
  readonly neighbours: number;
  readonly records: number;
  /** Operations handled here, by operation name and result (`ok` or the status code). */
  readonly operations: Readonly<Record<string, number>>;
  /** Refused requests and INVITEs (403), by reason. */
  readonly refused: Readonly<Record<string, number>>;
}

/**
 * One XPP-PCAN peer (spec xpp-pcan): owns a zone of the CAN, keeps an XPP session (set up by SIP) to each
 * neighbour, routes requests greedily hop by hop, and stores the records whose keys hash into its zone. A node
 * starts as a candidate; it becomes a peer by `bootstrap()` (the first peer of an overlay, owning the whole space)
 * or by being invited by a peer (`invite()` on that peer). See docs/decisions/dht-overlay-node-plan.md.
 */
export class OverlayNode {
  readonly peerId: Uint8Array;
  readonly id: string;
  readonly dimensions: number;
  readonly store: RecordStore;
  readonly endpoint: XppEndpoint;
  readonly ua: SipUserAgent;
  readonly #clock: Clock;
  readonly #sip: DatagramTransport;
  readonly #neighbours: NeighbourTable;
  readonly #hopLimit: number;
  readonly #timeout: number;
  readonly #points: ReturnType<typeof pointCodec>;
  readonly #zonesCodec: ReturnType<typeof zoneCodec>;
  #zones: Zone[] = [];
  #version = 0;
  #state: OverlayNodeState = 'candidate';
  /** The accepted invitation of a candidate, settled once the session is open. */
  #inviterCall: Promise<XppCall> | undefined;
  /** The session of the invitation a candidate accepted: the only one its JOIN may come on. */
  #inviterSession: XppSession | undefined;
  /** The neighbour each session leads to, once known (handlers are registered before that: see #serve). */
  readonly #sessionPeers = new WeakMap<XppSession, string>();
  readonly #operations: Record<string, number> = {};
  readonly #refused: Record<string, number> = {};

  private constructor(init: { endpoint: XppEndpoint; sip: DatagramTransport; options: OverlayNodeOptions }) {
    const options = init.options;
    this.peerId = options.peerId ?? new Uint8Array(randomBytes(16));
    this.id = peerIdHex(this.peerId);
    this.dimensions = options.dimensions ?? 4;
    this.#clock = options.clock ?? systemClock;
    this.store = new RecordStore({ ...options.store, clock: this.#clock });
    this.#neighbours = new NeighbourTable(options.maxNeighbours ?? 128);
    this.#hopLimit = options.hopLimit ?? DEFAULT_HOP_LIMIT;
    this.#timeout = options.requestTimeout ?? 10_000;
    this.#points = pointCodec(this.dimensions);
    this.#zonesCodec = zoneCodec(this.dimensions);
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
    const host = options.host ?? '127.0.0.1';
    const sip =
      options.transports?.sip ?? (await UdpSipTransport.open({ address: host, port: options.sipPort ?? 0 }));
    const endpoint = await XppEndpoint.bind({
      ...(options.transports === undefined
        ? { address: host, ...(options.xppPort === undefined ? {} : { port: options.xppPort }) }
        : { transport: options.transports.xpp }),
      ...(options.clock === undefined ? {} : { clock: options.clock }),
      ...(options.security === undefined ? {} : { security: options.security }),
    });
    return new OverlayNode({ endpoint, sip, options });
  }

  get state(): OverlayNodeState {
    return this.#state;
  }

  get zones(): readonly Zone[] {
    return this.#zones;
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

  /** The neighbours this node knows, with their zones. */
  neighbours(): { id: string; zones: readonly Zone[]; linked: boolean }[] {
    return [...this.#neighbours.values()].map((n) => ({
      id: n.id,
      zones: n.zones,
      linked: n.link?.session.isOpen === true,
    }));
  }

  get stats(): OverlayNodeStats {
    return {
      state: this.#state,
      zones: this.#zones.map((z) => z.toString()),
      volume: this.#zones.reduce((sum, z) => sum + z.volume, 0),
      neighbours: this.#neighbours.size,
      records: this.store.stats.records,
      operations: { ...this.#operations },
      refused: { ...this.#refused },
    };
  }

  /** Makes this node the first peer of a new overlay: it owns the whole space. */
  bootstrap(): void {
    this.#assertState('candidate');
    this.#zones = [Zone.root(this.dimensions)];
    this.#version = 1;
    this.#state = 'peer';
  }

  /**
   * Invites a candidate (spec §7) at `uri` to become a peer: opens an XPP session to it by SIP, hands it the upper
   * half of this node's zone with the records and neighbours of that half (JOIN), and announces the change to
   * every neighbour (NEIGHBOUR-UPDATE), who open their own sessions to the newcomer.
   */
  async invite(uri: string, options: { signal?: AbortSignal } = {}): Promise<{ peerId: string; zone: Zone }> {
    this.#assertState('peer');
    const zone = this.#zones[0];
    if (zone === undefined || !zone.canSplit)
      throw new DhtError('INVALID_ARGUMENT', 'this node has no zone it can split');
    const call = await placeXppCall(this.ua, this.endpoint, uri, {
      ...options,
      onSession: (session) => this.#serve(session),
    });
    const [lower, upper] = zone.split();
    const inUpper = (key: string) => upper.contains(hashKey(key, this.dimensions));
    const handed = this.store.extract((r) => inUpper(r.key));
    const records = handed.map((r) => this.store.toWire(r));
    const newcomerNeighbours = [
      this.#info([lower]),
      ...this.#neighbours.adjacentTo([upper]).map((n) => this.#infoOf(n)),
    ];
    let response: Message;
    try {
      response = await this.#request(
        call,
        DhtOperation.JOIN.type,
        encodeHandoff({
          zones: [this.#zonesCodec.encode(upper)],
          neighbours: newcomerNeighbours,
          records,
        }),
      );
    } catch (error) {
      this.store.insert(records, 'primary');
      void call.hangUp().catch(() => undefined);
      throw error;
    }
    const newcomer = DhtOption.NEIGHBOUR.require(response.options);
    this.#zones = [lower, ...this.#zones.slice(1)];
    this.#version++;
    const entry = this.#neighbours.upsert({ ...newcomer, zones: this.#decodeZones(newcomer.zones) });
    if (entry !== undefined) this.#attach(entry, call);
    // Tell everyone else about our new zone and the newcomer; those no longer adjacent drop the link.
    await this.#announce([this.#info(this.#zones), newcomer], entry?.id);
    this.#pruneNonAdjacent();
    return { peerId: peerIdHex(newcomer.peerId), zone: upper };
  }

  /** Stores a record at the owner of its key's point. Resolves with the lifetime granted, in seconds. */
  async put(key: string, kind: RecordKind, value: Uint8Array, lifetime: number): Promise<number> {
    const response = await this.#route(
      hashKey(key, this.dimensions),
      DhtOperation.PUT.type,
      encodePut({ key, kind, value, lifetime }),
    );
    return decodePutResponse(response).lifetime;
  }

  /** The records of `key` and `kind` at the owner of the key's point (empty when there are none). */
  async get(key: string, kind: RecordKind): Promise<WireRecord[]> {
    const response = await this.#route(
      hashKey(key, this.dimensions),
      DhtOperation.GET.type,
      encodeGet({ key, kind }),
    );
    return [...decodeRecords(response).records];
  }

  /** Removes the records of `key` and `kind` at their owner. */
  async remove(key: string, kind: RecordKind): Promise<void> {
    await this.#route(hashKey(key, this.dimensions), DhtOperation.REMOVE.type, encodeRemove({ key, kind }));
  }

  /** Closes every session and both sockets (or transports: the node owns what it was given). */
  async close(): Promise<void> {
    if (this.#state === 'closed') return;
    this.#state = 'closed';
    for (const n of this.#neighbours.values()) n.link?.session.close();
    await this.ua.close();
    await this.#sip.close();
    await this.endpoint.close();
  }

  /** Checks that `nodes` tile the space exactly (spec §2: every point has exactly one owner). */
  static tiling(nodes: readonly OverlayNode[]): ReturnType<typeof checkTiling> {
    return checkTiling(nodes.flatMap((n) => n.#zones));
  }

  // --- routing -------------------------------------------------------------------------------------------

  /** Delivers `operation` to the owner of `target`, here or hop by hop (ROUTE), and returns its response options. */
  async #route(
    target: Point,
    operation: number,
    inner: readonly XppOption[],
    hopLimit = this.#hopLimit,
  ): Promise<readonly XppOption[]> {
    if (this.#state !== 'peer') throw new DhtError('NOT_A_PEER', 'this node owns no zone');
    const decision = nextHop(target, this.#zones, this.#neighbours.routable());
    if (decision.kind === 'mine') return this.#execute(operation, inner);
    if (decision.kind === 'dead-end') throw new DhtError('NO_ROUTE', 'no neighbour is closer to the target');
    const next = this.#neighbours.get(decision.next.id);
    if (next === undefined) throw new DhtError('NO_ROUTE', `neighbour ${decision.next.id} is gone`);
    const response = await this.#request(
      await this.#linkOf(next),
      DhtOperation.ROUTE.type,
      encodeRoute({ target: this.#points.encode(target), hopLimit, operation, inner }),
    );
    return response.options;
  }

  /** Runs a storage operation on the local store; refusals are `DhtError`s. */
  #execute(operation: number, inner: readonly XppOption[]): readonly XppOption[] {
    switch (operation) {
      case DhtOperation.PUT.type: {
        const put = decodePut(inner);
        const result = this.store.put({
          key: put.key,
          kind: put.kind,
          value: put.value,
          lifetime: put.lifetime,
        });
        return encodePutResponse({ lifetime: result.lifetime });
      }
      case DhtOperation.GET.type: {
        const get = decodeGet(inner);
        return encodeRecords({ records: this.store.get(get.key, get.kind).map((r) => this.store.toWire(r)) });
      }
      case DhtOperation.REMOVE.type: {
        const remove = decodeRemove(inner);
        this.store.remove(remove.key, remove.kind, remove.bindingId);
        return [];
      }
      default:
        throw new DhtError('INVALID_ARGUMENT', `operation 0x${operation.toString(16)} cannot be routed`);
    }
  }

  async #request(link: XppCall, type: number, options: readonly XppOption[]): Promise<Message> {
    try {
      return await link.session.request(type, options, { timeout: this.#timeout });
    } catch (error) {
      if (ReliabilityError.is(error) && error.code === 'ERROR_RESPONSE') {
        throw new DhtError('REMOTE_ERROR', error.message, { cause: error, status: error.status ?? 500 });
      }
      throw new DhtError('NO_ROUTE', `request to a neighbour failed: ${(error as Error).message}`, {
        cause: error,
      });
    }
  }

  // --- sessions and handlers -----------------------------------------------------------------------------

  #onInvite(invite: IncomingInvite): void {
    const caller = peerFromUri(invite.request.headers.get('from'));
    if (this.#state === 'candidate' && this.#inviterSession === undefined) {
      // Passive join: the first invitation a candidate gets opens the session its JOIN will come on.
      const accepting = acceptXppCall(invite, this.endpoint, {
        onSession: (session) => {
          this.#inviterSession = session;
          this.#serve(session);
        },
      });
      this.#inviterCall = accepting;
      accepting.catch(() => this.#refuse('invite-failed'));
      return;
    }
    const known = caller === undefined ? undefined : this.#neighbours.get(caller);
    if (this.#state !== 'peer' || known === undefined || known.link !== undefined) {
      this.#refuse('uninvited-invite');
      invite.reject(403);
      return;
    }
    void acceptXppCall(invite, this.endpoint, {
      onSession: (session) => {
        this.#sessionPeers.set(session, known.id);
        this.#serve(session);
      },
    }).then(
      (call) => this.#attach(known, call),
      () => this.#refuse('invite-failed'),
    );
  }

  /** Makes `call` the link to neighbour `n` (its session is already served) and wakes who waits for it. */
  #attach(n: Neighbour, call: XppCall): void {
    n.link = call;
    this.#sessionPeers.set(call.session, n.id);
    call.session.on('close', () => {
      if (n.link === call) n.link = undefined;
    });
    for (const wake of n.waiters.splice(0)) wake(call);
  }

  /**
   * The open link to `n`, waiting (at most the request timeout) while its session is being set up: a neighbour
   * announced a moment ago calls in, or is called, concurrently with the first requests that need it.
   */
  #linkOf(n: Neighbour): Promise<XppCall> {
    if (n.link !== undefined && n.link.session.isOpen) return Promise.resolve(n.link);
    return new Promise<XppCall>((resolve, reject) => {
      const timer = this.#clock.setTimer(() => {
        n.waiters = n.waiters.filter((w) => w !== wake);
        reject(new DhtError('NO_ROUTE', `no session to neighbour ${n.id}`));
      }, this.#timeout);
      const wake = (link: XppCall | undefined) => {
        this.#clock.clearTimer(timer);
        if (link === undefined) reject(new DhtError('NO_ROUTE', `neighbour ${n.id} is gone`));
        else resolve(link);
      };
      n.waiters.push(wake);
    });
  }

  /**
   * Registers the overlay's handlers on a session as soon as it exists — before it is open, since the peer may send
   * its first request the moment its own side opens. Who the session leads to is looked up per request.
   */
  #serve(session: XppSession): void {
    const from = () => this.#sessionPeers.get(session);
    const guard =
      (name: string, run: (request: Message) => Promise<readonly XppOption[]> | readonly XppOption[]) =>
      async (request: Message): Promise<readonly XppOption[]> => {
        try {
          const result = await run(request);
          this.#count(name, 'ok');
          return result;
        } catch (error) {
          const status = DhtError.is(error) ? error.status : WireError.is(error) ? 400 : 500;
          this.#count(name, String(status));
          throw new ReliabilityError('ERROR_RESPONSE', (error as Error).message.slice(0, 512), { status });
        }
      };
    session.handle(
      DhtOperation.ROUTE.type,
      guard('ROUTE', (request) => {
        if (this.#state !== 'peer') throw new DhtError('NOT_A_PEER', 'not a peer');
        this.#requireNeighbour(from());
        const route = decodeRoute(request.options);
        return this.#route(
          this.#points.decode(route.target),
          route.operation,
          route.inner,
          nextHopLimit(route.hopLimit),
        );
      }),
    );
    session.handle(
      DhtOperation.JOIN.type,
      guard('JOIN', (request) => this.#onJoin(session, request)),
    );
    session.handle(
      DhtOperation.NEIGHBOUR_UPDATE.type,
      guard('NEIGHBOUR-UPDATE', (request) => {
        const sender = from();
        this.#requireNeighbour(sender);
        return this.#onNeighbourUpdate(sender as string, request);
      }),
    );
  }

  #requireNeighbour(from: string | undefined): void {
    const n = from === undefined ? undefined : this.#neighbours.get(from);
    if (n === undefined) {
      this.#refuse('not-a-neighbour');
      throw new DhtError('FORBIDDEN', 'only neighbours may send this');
    }
  }

  /** A candidate receives its zone, records and neighbours from the peer that invited it. */
  #onJoin(session: XppSession, request: Message): readonly XppOption[] {
    if (this.#state !== 'candidate' || session !== this.#inviterSession) {
      this.#refuse('uninvited-join');
      throw new DhtError('FORBIDDEN', 'JOIN is accepted only by a candidate, from the peer that invited it');
    }
    const handoff = decodeHandoff(request.options);
    const zones = handoff.zones.map((z) => this.#zonesCodec.decode(z));
    const [inviterInfo] = handoff.neighbours;
    if (inviterInfo === undefined) throw new DhtError('INVALID_ARGUMENT', 'JOIN lists no neighbours');
    this.#zones = zones;
    this.#version = 1;
    this.#state = 'peer';
    this.store.insert(handoff.records, 'primary');
    for (const info of handoff.neighbours)
      this.#neighbours.upsert({ ...info, zones: this.#decodeZones(info.zones) });
    // The first neighbour listed is the inviter, whose session this is; the link is its once the call settles.
    const inviter = this.#neighbours.get(peerIdHex(inviterInfo.peerId));
    if (inviter !== undefined) {
      this.#sessionPeers.set(session, inviter.id);
      void this.#inviterCall?.then((call) => this.#attach(inviter, call));
    }
    return [DhtOption.NEIGHBOUR.option(this.#info(this.#zones), true)];
  }

  async #onNeighbourUpdate(from: string, request: Message): Promise<readonly XppOption[]> {
    const update = decodeNeighbourUpdate(request.options);
    const connects: Promise<void>[] = [];
    for (const info of update.neighbours) {
      const id = peerIdHex(info.peerId);
      if (id === this.id) continue;
      const zones = this.#decodeZones(info.zones);
      const known = this.#neighbours.get(id);
      if (!adjacent(zones, this.#zones)) {
        // Not (or no longer) a neighbour of ours.
        if (known !== undefined && (id === from || known.version <= info.version)) this.#drop(known);
        continue;
      }
      const n = this.#neighbours.upsert({ ...info, zones });
      // Existing peers call a newcomer (spec §1: the inviter advertises it, the neighbours set up sessions).
      if (n !== undefined && n.link === undefined && id !== from) connects.push(this.#connect(n));
    }
    await Promise.allSettled(connects);
    return [];
  }

  async #connect(n: Neighbour): Promise<void> {
    try {
      const call = await placeXppCall(this.ua, this.endpoint, n.contact.uri, {
        onSession: (session) => {
          this.#sessionPeers.set(session, n.id);
          this.#serve(session);
        },
      });
      if (n.link === undefined && this.#neighbours.get(n.id) === n) this.#attach(n, call);
      else void call.hangUp().catch(() => undefined);
    } catch {
      this.#refuse('connect-failed');
    }
  }

  /** Sends NEIGHBOUR-UPDATE with `infos` to every neighbour but `except`, waiting for links being set up. */
  async #announce(infos: readonly NeighbourInfo[], except: string | undefined): Promise<void> {
    const options = encodeNeighbourUpdate({ neighbours: infos });
    await Promise.allSettled(
      [...this.#neighbours.values()]
        .filter((n) => n.id !== except)
        .map(async (n) => this.#request(await this.#linkOf(n), DhtOperation.NEIGHBOUR_UPDATE.type, options)),
    );
  }

  #pruneNonAdjacent(): void {
    for (const n of [...this.#neighbours.values()]) if (!adjacent(n.zones, this.#zones)) this.#drop(n);
  }

  #drop(n: Neighbour): void {
    this.#neighbours.delete(n.id);
    for (const wake of n.waiters.splice(0)) wake(undefined);
    const link = n.link;
    n.link = undefined;
    if (link !== undefined) void link.hangUp().catch(() => undefined);
  }

  // --- helpers -------------------------------------------------------------------------------------------

  #info(zones: readonly Zone[]): NeighbourInfo {
    return {
      peerId: this.peerId,
      zones: zones.map((z) => this.#zonesCodec.encode(z)),
      contact: this.contact,
      version: this.#version,
    };
  }

  #infoOf(n: Neighbour): NeighbourInfo {
    return {
      peerId: n.peerId,
      zones: n.zones.map((z) => this.#zonesCodec.encode(z)),
      contact: n.contact,
      version: n.version,
    };
  }

  #decodeZones(encoded: readonly Uint8Array[]): Zone[] {
    return encoded.map((z) => this.#zonesCodec.decode(z));
  }

  #assertState(state: OverlayNodeState): void {
    if (this.#state !== state) throw new DhtError('NOT_A_PEER', `node is ${this.#state}, expected ${state}`);
  }

  #count(operation: string, result: string): void {
    const key = `${operation} ${result}`;
    this.#operations[key] = (this.#operations[key] ?? 0) + 1;
  }

  #refuse(reason: string): void {
    this.#refused[reason] = (this.#refused[reason] ?? 0) + 1;
  }
}

/** The peer id hex in the user part of a From header (`<sip:<id>@host:port>;tag=…`). */
function peerFromUri(from: string | undefined): string | undefined {
  const uri = from === undefined ? undefined : parseNameAddr(from)?.uri;
  const user = uri === undefined ? undefined : parseSipUri(uri)?.user;
  return user !== undefined && /^[0-9a-f]{2,64}$/.test(user) ? user : undefined;
}
