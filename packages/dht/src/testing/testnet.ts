import type { Point } from '@xpp/can';
import { MemoryNetwork, seededRandom } from '@xpp/reliability/testing';
import { UdpSipTransport, type DatagramTransport, type SecurityPolicy } from '@xpp/session-sdp';
import { MemoryTransport } from '@xpp/session-sdp/testing';
import type { OverlayNodeOptions } from '../node/node-options.js';
import { OverlayNode } from '../node/overlay-node.js';
import { TestnetError } from './errors.js';
import { ImpairedTransport } from './impaired-transport.js';
import { waitFor, type WaitOptions } from './wait.js';
import { ZoneHistory } from './zone-history.js';
import {
  isServing,
  NOT_TILED,
  recordCopies,
  replicationReport,
  unsettledSteps,
  type SettleOptions,
} from './overlay-checks.js';

export type { SettleOptions } from './overlay-checks.js';
import { TestnetMembership, type TestnetCertificate } from './membership.js';

/** Where a testnet's datagrams travel: real UDP sockets on loopback, or the in-memory network of a simulation. */
export type TestnetNetwork = 'udp' | 'memory';

/**
 * Which peer invites each newcomer. `random-point`: the owner of a uniformly random point (the CAN paper's join,
 * so a zone is split with probability proportional to its volume and zones stay within a few sizes of each
 * other). `largest-zone`: the peer with the largest zone (the most even overlay a passive join can grow).
 */
export type InviterChoice = 'random-point' | 'largest-zone';

/** What every node of a testnet is created with, apart from what the testnet decides (transports, id, d). */
export type TestnetNodeOptions = Omit<
  OverlayNodeOptions,
  'transports' | 'dimensions' | 'security' | 'peerId' | 'host' | 'sipPort' | 'xppPort' | 'membership'
>;

export interface TestnetOptions {
  /** Peers to grow to, from one bootstrap peer, one invitation at a time. */
  readonly size: number;
  /** Default `memory`. */
  readonly network?: TestnetNetwork;
  /** CAN dimensions. Default 4. */
  readonly dimensions?: number;
  /** Seeds the peer ids, the inviter choice and the loss pattern: the same seed grows the same overlay. Default 1. */
  readonly seed?: number;
  /** Session security of every node. Default the node's (`required`). */
  readonly security?: SecurityPolicy;
  readonly nodeOptions?: TestnetNodeOptions;
  /** Probability in [0, 1) that any datagram a node sends (SIP or XPP) is lost. Default 0. */
  readonly loss?: number;
  /** Default `random-point`. */
  readonly inviter?: InviterChoice;
  /** Invitations tried per newcomer before {@link Testnet.add} gives up. Default 3. */
  readonly inviteAttempts?: number;
  /** Address UDP nodes bind. Default `127.0.0.1`. */
  readonly host?: string;
  /**
   * Certified membership (spec xpp-pcan §5): one administrator key per testnet certifies every node it starts
   * ({@link Testnet.membership}). `false` starts nodes without `membership` (nothing authenticated). Default true.
   */
  readonly certified?: boolean;
  /** The certified nodes' `membership.revocationCheckInterval`, ms. Default the node's (its refresh interval). */
  readonly revocationCheckInterval?: number;
  /**
   * The nodes' stores check CREDENTIAL records (and removals, revocations) with the testnet administrator's key, so
   * that credentials signed by {@link TestnetMembership.credential} can be stored. Needs `certified`. Default false.
   */
  readonly adminStore?: boolean;
  readonly signal?: AbortSignal;
}

/** What the testnet keeps per node: its two transports, to cut them on a crash. */
interface Member {
  readonly node: OverlayNode;
  readonly sip: ImpairedTransport;
  readonly xpp: ImpairedTransport;
}

/** Datagram counts over every transport a testnet created (crashed nodes included). */
export interface TestnetTraffic {
  readonly sent: number;
  readonly received: number;
  readonly lost: number;
}

/**
 * An overlay of {@link OverlayNode}s grown from one bootstrap peer by invitations, over real UDP on loopback or
 * over an in-memory network, with optional seeded datagram loss — the same node code either way. The testnet
 * picks inviters with knowledge no peer has (it sees every zone); the join itself is the node's own `invite()`.
 */
export class Testnet {
  readonly network: TestnetNetwork;
  readonly dimensions: number;
  /** The in-memory network of a `memory` testnet. */
  readonly memory: MemoryNetwork | undefined;
  /** The testnet's administrator and domain (undefined when not `certified`). */
  readonly membership: TestnetMembership | undefined;
  readonly #options: TestnetOptions;
  readonly #random: () => number;
  readonly #members = new Map<OverlayNode, Member>();
  /** Crashed members, still answering {@link transportsOf}. */
  readonly #crashed = new WeakMap<OverlayNode, Member>();
  /** Every transport ever created, for the traffic counts and to close. */
  readonly #transports: ImpairedTransport[] = [];
  /** Nodes created (live or not), numbering in-memory addresses and loss seeds. */
  #created = 0;
  #failedInvitations = 0;
  /** Members that left on their own (not by {@link leave} or {@link crash}). */
  #departed = 0;
  /** Members {@link leave} is taking out. */
  readonly #leaving = new Set<OverlayNode>();
  readonly #history = new ZoneHistory();
  /** Nodes of {@link createOutsider}, closed with the testnet. */
  readonly #outsiders: OverlayNode[] = [];
  #closed = false;

  constructor(options: TestnetOptions) {
    this.#options = options;
    this.network = options.network ?? 'memory';
    this.dimensions = options.dimensions ?? 4;
    this.#random = seededRandom(options.seed ?? 1);
    this.memory = this.network === 'memory' ? new MemoryNetwork() : undefined;
    this.membership = options.certified === false ? undefined : new TestnetMembership();
  }

  /** The live peers, in the order they joined. */
  get nodes(): OverlayNode[] {
    this.#pruneDeparted();
    return [...this.#members.keys()];
  }

  get size(): number {
    this.#pruneDeparted();
    return this.#members.size;
  }

  /**
   * Peers that left the overlay on their own: a double-ownership repair left them no zone
   * (docs/decisions/dht-double-ownership.md). They are no longer in {@link nodes}.
   */
  get departed(): number {
    this.#pruneDeparted();
    return this.#departed;
  }

  /** A live peer chosen by the testnet's seeded random source. */
  randomNode(): OverlayNode {
    const nodes = this.nodes;
    const node = nodes[Math.floor(this.#random() * nodes.length)];
    if (node === undefined) throw new TestnetError('INVALID_ARGUMENT', 'the testnet has no peer');
    return node;
  }

  /** A uniformly random point of the key space. */
  randomPoint(): Point {
    return Array.from({ length: this.dimensions }, () => Math.floor(this.#random() * 2 ** 32));
  }

  /** The live peer owning `point`, if any (none while a crashed peer's zone is not yet taken over). */
  ownerOf(point: Point): OverlayNode | undefined {
    for (const node of this.#members.keys()) if (node.zones.some((z) => z.contains(point))) return node;
    return undefined;
  }

  /**
   * A new node that is not yet a peer (a candidate): `invite(candidate.ua.contactUri)` on a peer makes it one.
   * It belongs to the testnet from now on (closed with it). In a certified testnet it presents a certificate of
   * `certificate` (default `valid`; anything else is an outsider for attack tests; `none`: no membership at all).
   */
  async createCandidate(
    options: { readonly certificate?: TestnetCertificate | 'none' } = {},
  ): Promise<OverlayNode> {
    this.#assertOpen();
    const index = ++this.#created;
    const seed = (this.#options.seed ?? 1) * 1_000_003 + index;
    const [sip, xpp] = await Promise.all([this.#transport(index, 5060), this.#transport(index, 5070)]);
    const impair = (inner: DatagramTransport, salt: number) => {
      const t = new ImpairedTransport(inner, { loss: this.#options.loss ?? 0, seed: seed * 2 + salt });
      this.#transports.push(t);
      return t;
    };
    const member = { sip: impair(sip, 0), xpp: impair(xpp, 1) };
    const certificate = options.certificate ?? 'valid';
    const membership = this.membership;
    const identity =
      membership === undefined || certificate === 'none' ? undefined : membership.identity(this.#random);
    const peerId = new Uint8Array(16);
    if (identity === undefined)
      for (let i = 0; i < peerId.length; i++) peerId[i] = Math.floor(this.#random() * 256);
    const node = await OverlayNode.create({
      ...this.#options.nodeOptions,
      dimensions: this.dimensions,
      ...(identity === undefined
        ? { peerId }
        : {
            membership: {
              ...(membership as TestnetMembership).membership(identity, certificate as TestnetCertificate),
              ...(this.#options.revocationCheckInterval === undefined
                ? {}
                : { revocationCheckInterval: this.#options.revocationCheckInterval }),
            },
          }),
      ...(this.#options.adminStore === true && membership !== undefined
        ? { adminPublicKey: membership.admins }
        : {}),
      transports: member,
      ...(this.#options.security === undefined ? {} : { security: this.#options.security }),
    });
    this.#members.set(node, { node, ...member });
    node.on('zone-change', (e) => this.#history.note(node.id, e.cause, e.zones));
    return node;
  }

  /**
   * A node outside the overlay with a certificate of `certificate` (or none): an outsider for attack tests. It is
   * not one of {@link nodes} (nor in the tiling or settle checks); the testnet closes it.
   */
  async createOutsider(certificate: TestnetCertificate | 'none'): Promise<OverlayNode> {
    const node = await this.createCandidate({ certificate });
    this.#members.delete(node);
    this.#outsiders.push(node);
    return node;
  }

  /** The peer that invites the next newcomer (see {@link InviterChoice}). */
  chooseInviter(): OverlayNode {
    const peers = this.nodes.filter((n) => n.state === 'peer' && n.zones[0]?.canSplit === true);
    if ((this.#options.inviter ?? 'random-point') === 'largest-zone') {
      let best: OverlayNode | undefined;
      for (const n of peers) if (best === undefined || volume(n) > volume(best)) best = n;
      if (best === undefined) throw new TestnetError('INVALID_ARGUMENT', 'no peer can split its zone');
      return best;
    }
    for (let attempt = 0; attempt < 64; attempt++) {
      const owner = this.ownerOf(this.randomPoint());
      if (owner !== undefined && peers.includes(owner)) return owner;
    }
    throw new TestnetError('INVALID_ARGUMENT', 'no peer owns a random point and can split its zone');
  }

  /**
   * Grows the overlay by one peer: a new candidate, invited by {@link chooseInviter}. An invitation that fails (a
   * request timed out on a loaded machine, a lossy path) is retried with a fresh candidate and a fresh choice of
   * inviter, up to `inviteAttempts` times in all (counted in {@link failedInvitations}), as a registrar would invite
   * again later; the last failure is thrown.
   */
  async add(options: { signal?: AbortSignal } = {}): Promise<OverlayNode> {
    const attempts = this.#options.inviteAttempts ?? 3;
    for (let attempt = 1; ; attempt++) {
      const candidate = await this.createCandidate();
      if (this.#members.size === 1) {
        candidate.bootstrap();
        return candidate;
      }
      try {
        await this.chooseInviter().invite(candidate.ua.contactUri, options);
        return candidate;
      } catch (error) {
        this.#members.delete(candidate);
        await candidate.close();
        this.#failedInvitations++;
        if (attempt >= attempts || options.signal?.aborted === true) throw error;
      }
    }
  }

  /** Invitations that failed and were retried (or thrown) by {@link add}. */
  get failedInvitations(): number {
    return this.#failedInvitations;
  }

  /** Grows to `size` peers. */
  async grow(size: number, options: { signal?: AbortSignal } = {}): Promise<void> {
    while (this.#members.size < size) {
      options.signal?.throwIfAborted();
      await this.add(options);
    }
  }

  /**
   * Crashes `node`: its sockets go silent both ways at once (no LEAVE, no BYE, nothing more is sent), then its
   * timers are released. Its neighbours find out the way they would in the field.
   */
  async crash(node: OverlayNode): Promise<void> {
    const member = this.#members.get(node);
    if (member === undefined) throw new TestnetError('INVALID_ARGUMENT', 'not a live peer of this testnet');
    this.#members.delete(node);
    this.#crashed.set(node, member);
    this.#history.note(node.id, 'crashed');
    await Promise.all([member.sip.cut(), member.xpp.cut()]);
    await node.close();
  }

  /** The transports the testnet gave `node` (their counters; `cut()` is what {@link crash} does). */
  transportsOf(
    node: OverlayNode,
  ): { readonly sip: ImpairedTransport; readonly xpp: ImpairedTransport } | undefined {
    const member = this.#members.get(node) ?? this.#crashed.get(node);
    return member === undefined ? undefined : { sip: member.sip, xpp: member.xpp };
  }

  /** Makes `node` leave gracefully (spec §3 LEAVE: its zones and records handed over first). */
  async leave(node: OverlayNode, options: { signal?: AbortSignal } = {}): Promise<void> {
    if (!this.#members.has(node))
      throw new TestnetError('INVALID_ARGUMENT', 'not a live peer of this testnet');
    this.#leaving.add(node);
    try {
      await node.leave(options);
      this.#members.delete(node);
      this.#history.note(node.id, 'left');
    } finally {
      this.#leaving.delete(node);
    }
  }

  /** Whether the live peers tile the space exactly (spec §2: every point has exactly one owner). */
  tiling(): ReturnType<typeof OverlayNode.tiling> {
    return OverlayNode.tiling(this.nodes);
  }

  /**
   * Where the live peers fail to tile the space — each hole and overlap, with the recent zone changes of every peer
   * that held a zone there (crashed and departed peers included) — or undefined when they tile it exactly.
   */
  tilingReport(): string | undefined {
    return this.#history.report(new Map(this.nodes.map((n) => [n.id, n.zones])));
  }

  /** The recent zone changes of every peer, live or gone, that held a zone containing `point` (a lost record's). */
  historyAt(point: Point): string {
    return this.#history.at(point, this.dimensions, new Map(this.nodes.map((n) => [n.id, n.zones])));
  }

  /**
   * Why the overlay is not at rest, or undefined when it is: the live peers must tile the space exactly, have no
   * work pending (`stats.settled`: no takeover, re-announcement, re-replication or call in progress), and each
   * list exactly the live peers whose zones abut its own, every one over an open session.
   */
  unsettled(options: SettleOptions = {}): string | undefined {
    const steps = unsettledSteps(this.nodes, options);
    for (;;) {
      const step = steps.next();
      if (step.done === true) return step.value;
    }
  }

  /** True when {@link unsettled} finds nothing. */
  isSettled(options: SettleOptions = {}): boolean {
    return this.unsettled(options) === undefined;
  }

  /**
   * True when `node` serves: it is a peer, every neighbour it knows is linked, and each of them knows it back over
   * an open session (what invite-to-serving time waits for).
   */
  isServing(node: OverlayNode): boolean {
    return isServing(this.nodes, node);
  }

  /** Waits until {@link isSettled}; the timeout error says what was still unsettled. */
  async settled(options: WaitOptions & SettleOptions = {}): Promise<void> {
    let why: string | undefined;
    await waitFor(
      async () => {
        // Checked in steps, yielding to I/O between them: a large testnet keeps its sessions served meanwhile.
        const steps = unsettledSteps(this.nodes, options);
        let step = steps.next();
        while (step.done !== true) {
          await new Promise((resolve) => setImmediate(resolve));
          step = steps.next();
        }
        why = step.value;
        return why === undefined;
      },
      {
        ...options,
        what: () =>
          `the overlay to settle: ${why ?? ''}${why === NOT_TILED ? `\n${this.tilingReport() ?? ''}` : ''}`,
      },
    );
  }

  /**
   * How many copies of each record the live peers hold, by role: `kind/key/subkey` → primaries and replicas. After
   * the overlay settled, every record has one primary and as many replicas as the nodes keep (spec §4).
   */
  recordCopies(): Map<string, { primary: number; replica: number }> {
    return recordCopies(this.#members.keys());
  }

  /**
   * Why some records are not held by exactly one primary and `replicas` replicas, or undefined when all are: how
   * many records have each wrong count, and for the first few, their owner (with its replication counters), the
   * holders it would pick by its own table, and who holds what.
   */
  replicationReport(replicas: number): string | undefined {
    return replicationReport([...this.#members.keys()], replicas, {
      dimensions: this.dimensions,
      ...(this.#options.nodeOptions?.takeover === undefined
        ? {}
        : { takeover: this.#options.nodeOptions.takeover }),
      ownerOf: (point) => this.ownerOf(point),
      historyAt: (point) => this.historyAt(point),
    });
  }

  /**
   * Up to `count` live peers of which no two are neighbours or have a neighbour in common (nor with `exclude`),
   * chosen by the seeded random source: peers that can crash or leave at once as if one after another — no record
   * loses its owner and a replica holder together (replicas live on the peers that would take a zone over, its
   * neighbours), and no survivor takes part in two takeovers or hand-overs at once.
   */
  independentPeers(count: number, exclude: readonly OverlayNode[] = []): OverlayNode[] {
    const byId = new Map(this.nodes.map((n) => [n.id, n]));
    const blocked = new Set<string>();
    // A chosen peer blocks everything within two hops: no two chosen peers are neighbours or share one.
    const block = (node: OverlayNode) => {
      blocked.add(node.id);
      for (const n of node.neighbours()) {
        blocked.add(n.id);
        for (const m of byId.get(n.id)?.neighbours() ?? []) blocked.add(m.id);
      }
    };
    exclude.forEach(block);
    const order = this.nodes;
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(this.#random() * (i + 1));
      [order[i], order[j]] = [order[j] as OverlayNode, order[i] as OverlayNode];
    }
    const chosen: OverlayNode[] = [];
    for (const node of order) {
      if (chosen.length >= count) break;
      if (blocked.has(node.id) || node.state !== 'peer') continue;
      chosen.push(node);
      block(node);
    }
    return chosen;
  }

  /** Waits until `condition` holds (polling with a deadline). */
  async waitFor(condition: () => boolean, options: WaitOptions = {}): Promise<void> {
    await waitFor(condition, options);
  }

  /** Datagrams sent, received and lost on every transport of the testnet so far. */
  traffic(): TestnetTraffic {
    let sent = 0;
    let received = 0;
    let lost = 0;
    for (const t of this.#transports) {
      sent += t.stats.sent;
      received += t.stats.received;
      lost += t.stats.lost;
    }
    return { sent, received, lost };
  }

  /** Closes every node (and so every socket). */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const nodes = [...this.nodes, ...this.#outsiders.splice(0)];
    this.#members.clear();
    await Promise.all(nodes.map((n) => n.close()));
  }

  async #transport(index: number, port: number): Promise<DatagramTransport> {
    if (this.memory !== undefined)
      return new MemoryTransport(this.memory, { address: memoryAddress(index), port });
    return UdpSipTransport.open({
      address: this.#options.host ?? '127.0.0.1',
      ...(this.#options.signal === undefined ? {} : { signal: this.#options.signal }),
    });
  }

  #pruneDeparted(): void {
    for (const node of this.#members.keys())
      if (node.state === 'closed' && !this.#leaving.has(node) && !this.#closed) {
        this.#members.delete(node);
        this.#departed++;
        this.#history.note(node.id, 'departed');
      }
  }

  #assertOpen(): void {
    if (this.#closed) throw new TestnetError('INVALID_ARGUMENT', 'the testnet is closed');
  }
}

/**
 * Grows a testnet to `options.size` peers from one bootstrap peer, each newcomer invited by the peer
 * `options.inviter` picks. Close it with `close()`.
 */
export async function createTestnet(options: TestnetOptions): Promise<Testnet> {
  if (!Number.isInteger(options.size) || options.size < 1)
    throw new TestnetError('INVALID_ARGUMENT', `size must be a positive integer, got ${options.size}`);
  const testnet = new Testnet(options);
  try {
    await testnet.grow(options.size, options.signal === undefined ? {} : { signal: options.signal });
  } catch (error) {
    await testnet.close();
    throw error;
  }
  return testnet;
}

function volume(node: OverlayNode): number {
  return node.zones.reduce((sum, z) => sum + z.volume, 0);
}

/** `10.a.b.c` for node `index` (1-based): 16 million distinct addresses. */
function memoryAddress(index: number): string {
  return `10.${(index >> 16) & 0xff}.${(index >> 8) & 0xff}.${index & 0xff}`;
}
