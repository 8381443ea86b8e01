import { createDefaultInvitePolicy, LocationService, type OverlayNode } from '@xpp/dht';
import { systemClock, type Clock, type TimerHandle } from '@xpp/reliability';
import {
  createResponse,
  parseSipUri,
  type ServerTransaction,
  type SipRequest,
  type SipRequestHook,
  type SipResponse,
  type SipAddress,
  type TransportAddress,
  TransactionAdmission,
} from '@xpp/session-sdp';
import { NodeError } from '../errors.js';
import { maxForwardsOf, transactionKeyOf } from '../proxy/forwarding.js';
import { CallAuthenticator } from '../proxy/call-auth.js';
import { IdentityAsserter } from '../proxy/identity.js';
import { SipProxy } from '../proxy/proxy.js';
import { FlowSigner, PEER_FLOW_HEADER, PeerFlowTable } from '../proxy/flow-route.js';
import { answerPeerFlow, PeerOutbound } from './peer-flows.js';
import { RecordRouteSigner } from '../proxy/record-route.js';
import { AnsweredRegisters, DEFAULT_MAX_ANSWERED } from '../registrar/answered.js';
import { AuthFailureLimiter } from '../registrar/auth-limiter.js';
import { DEFAULT_MAX_FLOWS, FlowTable, type Flow } from '../registrar/flows.js';
import { NonceIssuer } from '../registrar/nonces.js';
import { Registrar, type RegisterOutcome, type RegisterResult } from '../registrar/registrar.js';
import { RevocationCheck } from './revocation-check.js';
import { TypedEvents, type SipFrontEvents } from './events.js';
import { Invitations, inviteTarget, xppFlowSource } from './invitations.js';
import { answerKeepalive } from './keepalive.js';
import { refuseUnsupported } from './extensions.js';
import { answerAsServer } from './server-answers.js';
import {
  DEFAULT_FLOW_SWEEP_MS,
  DEFAULT_MAX_REGISTERS_IN_FLIGHT,
  type SipFrontOptions,
  type SipFrontStats,
} from './front-options.js';
import { localTag } from './tags.js';

export {
  DEFAULT_FLOW_SWEEP_MS,
  DEFAULT_MAX_REGISTERS_IN_FLIGHT,
  type SipFrontOptions,
  type SipFrontStats,
} from './front-options.js';

/**
 * The SIP front of a peer (spec §1, §5–§7): registrar and proxy for the overlay's domain on the node's own SIP
 * socket. Pass {@link hooks} to `OverlayNode.create`, then {@link attach} the node. Requests for the node's own
 * peer URI (XPP sessions between peers) stay with the overlay.
 */
export class SipFront {
  readonly hooks: {
    readonly onSipRequest: SipRequestHook;
    readonly onSipStrayResponse: (response: SipResponse, source: TransportAddress) => boolean;
  };
  readonly #o: SipFrontOptions;
  readonly #clock: Clock;
  readonly #events = new TypedEvents<SipFrontEvents>();
  readonly #flows: FlowTable;
  readonly #nonces: NonceIssuer;
  readonly #counts = {
    registrations: 0,
    challenges: 0,
    authFailures: 0,
    authBackoffs: 0,
    keepalives: 0,
    listenerErrors: 0,
  };
  readonly #limiter: AuthFailureLimiter;
  readonly #rejected: Record<string, number> = {};
  #node: OverlayNode | undefined;
  #location: LocationService | undefined;
  #registrar: Registrar | undefined;
  #proxy: SipProxy | undefined;
  #invitations: Invitations | undefined;
  /** SIP through NATs (docs/decisions/node-peer-nat-sip.md); only with a certified identity. */
  #nat: { signer: FlowSigner; table: PeerFlowTable; outbound: PeerOutbound } | undefined;
  #sweepTimer: TimerHandle | undefined;
  #removeKeepalives: (() => void) | undefined;
  #announced: { promise: Promise<void>; at: number } | undefined;
  #inFlight = 0;
  #answered = new AnsweredRegisters(0);
  #requests = 0;
  #rateSince: number;
  #closed = false;

  constructor(options: SipFrontOptions) {
    this.#o = options;
    this.#clock = options.clock ?? systemClock;
    this.#flows = new FlowTable(options.maxFlows ?? DEFAULT_MAX_FLOWS);
    this.#nonces = new NonceIssuer({
      now: () => this.#clock.now(),
      ...(options.nonceSecret === undefined ? {} : { secret: options.nonceSecret }),
      ...(options.nonceLifetimeMs === undefined ? {} : { lifetime: options.nonceLifetimeMs }),
      ...(options.maxTrackedNonces === undefined ? {} : { maxTracked: options.maxTrackedNonces }),
    });
    this.#limiter = new AuthFailureLimiter(options.authLimits);
    this.#rateSince = this.#clock.now();
    this.hooks = {
      onSipRequest: (request, transaction, source) => this.#onRequest(request, transaction, source),
      onSipStrayResponse: (response) => this.#proxy?.onStrayResponse(response) ?? false,
    };
  }

  /** The overlay location service this front reads and writes (available after {@link attach}). */
  get location(): LocationService | undefined {
    return this.#location;
  }

  get stats(): SipFrontStats {
    const proxy = this.#proxy?.stats;
    const rejected: Record<string, number> = { ...this.#rejected };
    for (const [reason, n] of Object.entries(proxy?.rejected ?? {}))
      rejected[reason] = (rejected[reason] ?? 0) + n;
    const layer = this.#node?.ua.layer.stats;
    for (const [reason, n] of Object.entries(layer?.overloadByReason ?? {}))
      if (n > 0) rejected[`overload-${reason}`] = n;
    // Malformed SIP (RFC 4475): requests answered 400/505 by the codec, and what could not be answered at all.
    if ((layer?.badRequestsAnswered ?? 0) > 0)
      rejected['malformed-answered'] = layer?.badRequestsAnswered ?? 0;
    if ((layer?.malformedDropped ?? 0) > 0) rejected['malformed-dropped'] = layer?.malformedDropped ?? 0;
    return {
      ...this.#counts,
      bindings: this.#flows.size,
      clients: this.#flows.aors,
      proxied: proxy?.proxied ?? 0,
      rejected,
    };
  }

  on<K extends keyof SipFrontEvents & string>(event: K, listener: SipFrontEvents[K]): () => void {
    return this.#events.on(event, listener);
  }

  /** Starts serving with `node` (whose SIP socket the hooks were given to). */
  attach(node: OverlayNode): void {
    if (this.#node !== undefined)
      throw new NodeError('ALREADY_RUNNING', 'this SIP front is already attached to a node');
    this.#node = node;
    const membership = this.#o.membership;
    node.ua.layer.setAdmissionPolicy(new TransactionAdmission(this.#o.transactionLimits));
    const location = new LocationService({
      storage: node,
      adminPublicKey: this.#o.adminPublicKey,
      clock: this.#clock,
    });
    this.#location = location;
    this.#registrar = new Registrar({
      domain: this.#o.domain,
      location,
      flows: this.#flows,
      nonces: this.#nonces,
      limiter: this.#limiter,
      local: () => node.ua.layer.local,
      peerId: node.peerId,
      clock: this.#clock,
      ...(this.#o.expiry === undefined ? {} : { expiry: this.#o.expiry }),
      ...(this.#o.digestAlgorithms === undefined ? {} : { digestAlgorithms: this.#o.digestAlgorithms }),
    });
    this.#answered = new AnsweredRegisters(
      64 * node.ua.layer.timers.T1,
      this.#o.maxAnsweredRegisters ?? DEFAULT_MAX_ANSWERED,
    );
    const revocations = new RevocationCheck(node, this.#clock);
    if (membership !== undefined) {
      const signer = new FlowSigner({
        ...membership,
        certificate: () => node.certificate ?? membership.certificate,
        domain: this.#o.domain,
        clock: this.#clock,
        isRevoked: (id) => revocations.isRevoked(id),
      });
      const outbound = new PeerOutbound({
        node,
        signer,
        domain: this.#o.domain,
        clock: this.#clock,
        onRoute: (route) => {
          this.#o.logger?.info({ route }, 'flow route through a public neighbour changed');
          // Other peers must find the new route: a PEER record already published is published again.
          if (this.#announced === undefined) return;
          this.#announced = undefined;
          this.#announce().catch(() => undefined);
        },
      });
      this.#nat = { signer, table: new PeerFlowTable(), outbound };
    }
    const nat = this.#nat;
    this.#proxy = new SipProxy({
      domain: this.#o.domain,
      layer: node.ua.layer,
      location,
      flows: this.#flows,
      peerIdHex: node.id,
      ...(this.#o.maxPendingInvites === undefined ? {} : { maxPendingInvites: this.#o.maxPendingInvites }),
      ...(this.#o.maxForkBranches === undefined ? {} : { maxForkBranches: this.#o.maxForkBranches }),
      ...(this.#o.timerCMs === undefined ? {} : { timerCMs: this.#o.timerCMs }),
      recordRoutes: new RecordRouteSigner(this.#o.recordRouteKey),
      foreignCalls: this.#o.foreignCalls ?? false,
      ...(this.#o.authenticateCalls === false
        ? {}
        : {
            callAuth: new CallAuthenticator({
              domain: this.#o.domain,
              location,
              nonces: this.#nonces,
              limiter: this.#limiter,
              clock: this.#clock,
              local: () => node.ua.layer.local,
              ...(this.#o.digestAlgorithms === undefined
                ? {}
                : { digestAlgorithms: this.#o.digestAlgorithms }),
            }),
          }),
      ...(membership === undefined
        ? {}
        : {
            asserter: new IdentityAsserter({
              isRevoked: (id) => revocations.isRevoked(id),
              ...membership,
              // The node's own: a renewal it is given (CertificateWatch) signs the assertions from then on too.
              certificate: () => node.certificate ?? membership.certificate,
              domain: this.#o.domain,
              clock: this.#clock,
            }),
          }),
      ...(nat === undefined
        ? {}
        : { flowRoutes: { signer: nat.signer, table: nat.table, holder: () => nat.outbound.holder } }),
      onCall: (event) => this.#emit('call', event),
    });
    this.#invitations = new Invitations({
      policy: this.#o.invitePolicy ?? createDefaultInvitePolicy(),
      clock: this.#clock,
      ...(this.#o.inviteIntervalMs === undefined ? {} : { intervalMs: this.#o.inviteIntervalMs }),
      ...(this.#o.inviteBackoffMs === undefined ? {} : { backoffMs: this.#o.inviteBackoffMs }),
      load: () => this.#load(),
      candidates: () =>
        Array.from(this.#flows.xppPeers(), (f) => ({
          id: f.binding.contact,
          xppPeer: true,
          flowSince: f.since,
        })),
      invite: async (candidate) => {
        if (node.state !== 'peer') throw new NodeError('NOT_RUNNING', 'this node is not a peer yet');
        return (await node.invite(inviteTarget(candidate.id, xppFlowSource(this.#flows, candidate.id))))
          .peerId;
      },
      onResult: (candidate, result) => {
        if (result.error === undefined)
          this.#o.logger?.info(
            { contact: candidate.id, peerId: result.peerId },
            'invited a client to become a peer',
          );
        else this.#o.logger?.warn({ contact: candidate.id, err: result.error }, 'invitation failed');
        this.#emit('invited', { contact: candidate.id, ...result });
      },
    });
    this.#invitations.start();
    nat?.outbound.start();
    this.#scheduleSweep();
    this.#answerKeepalives(node);
  }

  /**
   * Sees the node's SIP datagrams first to answer RFC 5626 keepalives (STUN, CRLF), which the SIP codec would drop
   * as malformed; everything else goes on to the node's transaction layer unchanged. {@link close} removes the filter.
   */
  #answerKeepalives(node: OverlayNode): void {
    this.#removeKeepalives = node.ua.layer.addDatagramFilter((datagram) => {
      const answer = answerKeepalive(datagram.data, datagram.source);
      if (answer === undefined) return false;
      this.#counts.keepalives++;
      this.#flows.touchSource(datagram.source, this.#clock.now());
      try {
        datagram.reply(answer);
      } catch {
        // The socket is closing: nothing to keep alive.
      }
      return true;
    });
  }

  /** A TCP, TLS or WebSocket connection closed: the flows registered over it failed (RFC 5626 §5.3). */
  connectionClosed(remote: SipAddress): void {
    if (this.#closed) return;
    for (const flow of this.#flows.failSource(remote)) this.#flowFailed(flow, 'closed');
  }

  #flowFailed(flow: Flow, reason: 'closed' | 'silent'): void {
    this.#emit('flow-failed', { aor: flow.aor, contact: flow.binding.contact, reason });
  }

  /** Asks the invite policy now (tests, `status`); resolves once the invitation it started, if any, ended. */
  async evaluateInvitePolicy(): Promise<void> {
    await this.#invitations?.evaluate();
  }

  /** Stops timers; bindings stay in the overlay until they expire (clients re-register elsewhere). */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#invitations?.stop();
    this.#nat?.outbound.stop();
    this.#removeKeepalives?.();
    if (this.#sweepTimer !== undefined) this.#clock.clearTimer(this.#sweepTimer);
    this.#proxy?.clear();
    this.#answered.clear();
    this.#limiter.clear();
    this.#flows.clear();
    this.#events.removeAll();
  }

  #onRequest(
    request: SipRequest,
    transaction: ServerTransaction | undefined,
    source: TransportAddress,
  ): boolean {
    const node = this.#node;
    if (node === undefined || this.#closed || isForOverlay(request, node.id)) return false;
    this.#requests++;
    if (request.method === 'REGISTER' && request.headers.has(PEER_FLOW_HEADER)) {
      const nat = this.#nat;
      if (transaction === undefined) return true;
      if (nat === undefined) {
        this.#reject('peer-flow-refused');
        transaction.respond(createResponse(request, 403, { toTag: localTag() }));
      } else
        void answerPeerFlow(request, transaction, source, { ...nat, clock: this.#clock }).then((result) => {
          if (result !== 'registered') this.#reject(result);
        });
      return true;
    }
    if (request.method === 'REGISTER') {
      // The registrar is a UAS: it must support what Require names (RFC 3261 §10.3 step 2).
      if (refuseUnsupported(request, transaction, 'uas')) this.#reject('bad-extension');
      else if (transaction !== undefined) this.#register(request, transaction, source);
      return true;
    }
    const proxy = this.#proxy as SipProxy;
    // CANCEL goes to the proxy, which matches it to the INVITE it cancels; an ACK has no transaction to answer.
    if (transaction !== undefined && request.method !== 'CANCEL' && proxy.isForServer(request)) {
      answerAsServer(request, transaction, (why) => this.#reject(why));
      return true;
    }
    // RFC 3261 §16.3: Max-Forwards (step 3, 483 by the proxy) before Proxy-Require (step 5).
    if (maxForwardsOf(request) > 0 && refuseUnsupported(request, transaction, 'proxy')) {
      this.#reject('bad-extension');
      return true;
    }
    proxy.handle(request, transaction, source);
    return true;
  }

  #register(request: SipRequest, transaction: ServerTransaction, source: TransportAddress): void {
    const registrar = this.#registrar as Registrar;
    const key = transactionKeyOf(request);
    const answered = key === undefined ? undefined : this.#answered.get(key, this.#clock.now());
    if (answered !== undefined) {
      // A retransmission whose answer was lost: the same answer again.
      transaction.respond(answered);
      transaction.abandon();
      return;
    }
    if (this.#inFlight >= (this.#o.maxRegistersInFlight ?? DEFAULT_MAX_REGISTERS_IN_FLIGHT)) {
      this.#reject('register-overload');
      transaction.respond(overloaded(request));
      transaction.abandon();
      return;
    }
    this.#inFlight++;
    void this.#announce()
      .then(() => registrar.handle(request, source))
      .then(
        (outcome) => this.#registered(outcome, transaction, source, key),
        (error: unknown) => {
          this.#o.logger?.error({ err: error }, 'REGISTER failed');
          this.#reject('register-error');
          transaction.respond(overloaded(request));
          transaction.abandon();
        },
      )
      .finally(() => this.#inFlight--);
  }

  #registered(
    outcome: RegisterOutcome,
    transaction: ServerTransaction,
    source: TransportAddress,
    key: string | undefined,
  ): void {
    transaction.respond(outcome.response);
    // The server transaction is dropped once answered instead of holding a table entry for Timer J (32 s), which
    // would cap a peer at 1 024 REGISTERs per 32 s and let a flood lock real clients out. Challenges and refusals
    // that depend on no state are simply answered again if retransmitted (RFC 3261 §8.2.7); the answers of the
    // others are remembered for their retransmissions (AnsweredRegisters).
    transaction.abandon();
    if (key !== undefined && !STATELESS_RESULTS.has(outcome.result))
      this.#answered.set(key, outcome.response, this.#clock.now());
    switch (outcome.result) {
      case 'registered':
      case 'queried':
        this.#counts.registrations++;
        break;
      case 'challenged':
        this.#counts.challenges++;
        break;
      case 'auth-failed':
        this.#counts.authFailures++;
        this.#reject(outcome.result);
        break;
      case 'auth-backoff':
        this.#counts.authBackoffs++;
        this.#reject(outcome.result);
        break;
      default:
        this.#reject(outcome.result);
    }
    const aor = outcome.aor;
    if (aor === undefined) return;
    for (const { contact, expires } of outcome.bound)
      this.#emit('registered', { aor, contact: contact.uri, expires, source });
    for (const contact of outcome.removed) this.#emit('unregistered', { aor, contact, reason: 'client' });
  }

  /** Publishes (and refreshes at half its lifetime) the PEER record that tells other peers where our flows are. */
  #announce(): Promise<void> {
    const node = this.#node as OverlayNode;
    // Every binding stored now must find the record until it expires: refresh once less than the longest
    // registration is left.
    const maxExpires = (this.#registrar as Registrar).bounds.maxExpires;
    const lifetime = Math.max(this.#o.peerRecordLifetime ?? 2 * maxExpires, maxExpires + 60);
    const now = this.#clock.now();
    if (this.#announced !== undefined && now - this.#announced.at < (lifetime - maxExpires) * 1000)
      return this.#announced.promise;
    const promise = (this.#location as LocationService)
      .announcePeer(node.id, { peerId: node.peerId, contact: this.#contact() }, lifetime)
      .then(() => undefined);
    this.#announced = { promise, at: now };
    // A failed announcement is retried by the next REGISTER.
    promise.catch(() => {
      if (this.#announced?.promise === promise) this.#announced = undefined;
    });
    return promise;
  }

  /** Our contact for other peers: behind a NAT, the flow route through a public neighbour. */
  #contact(): { uri: string; candidates: OverlayNode['contact']['candidates'] } {
    const node = this.#node as OverlayNode;
    const route = this.#nat?.outbound.route;
    return route === undefined ? node.contact : { ...node.contact, uri: route };
  }

  /**
   * SIP through NATs: the flow route other peers reach this peer at (behind a NAT), the neighbours holding its
   * flows, and how many NATed peers' flows this peer holds.
   */
  get natTraversal(): { route?: string; holders: string[]; held: number } {
    const nat = this.#nat;
    if (nat === undefined) return { holders: [], held: 0 };
    const route = nat.outbound.route;
    return { ...(route === undefined ? {} : { route }), holders: nat.outbound.holders, held: nat.table.size };
  }

  #scheduleSweep(): void {
    this.#sweepTimer = this.#clock.setTimer(() => {
      if (this.#closed) return;
      for (const flow of this.#flows.failSilent(this.#clock.now())) this.#flowFailed(flow, 'silent');
      for (const flow of this.#flows.sweep(this.#clock.now())) {
        this.#emit('unregistered', {
          aor: flow.aor,
          contact: flow.binding.contact,
          reason: 'flow-expired',
        });
      }
      this.#scheduleSweep();
    }, this.#o.flowSweepMs ?? DEFAULT_FLOW_SWEEP_MS);
  }

  #load(): { records: number; clients: number; requestRate: number } {
    const now = this.#clock.now();
    const seconds = Math.max(0.001, (now - this.#rateSince) / 1000);
    const requestRate = this.#requests / seconds;
    this.#requests = 0;
    this.#rateSince = now;
    return { records: this.#node?.stats.records ?? 0, clients: this.stats.clients, requestRate };
  }

  /** Tells the listeners; one that throws is counted (`listenerErrors`), never allowed to stop the front. */
  #emit<K extends keyof SipFrontEvents & string>(event: K, payload: Parameters<SipFrontEvents[K]>[0]): void {
    if (!this.#events.emit(event, payload)) this.#counts.listenerErrors++;
  }

  #reject(reason: string): void {
    this.#rejected[reason] = (this.#rejected[reason] ?? 0) + 1;
  }
}

/**
 * Whether a request belongs to the overlay (an XPP session between peers, or a request within one): it names this
 * node's peer id as its Request-URI user and carries no Route. Everything else is the front's.
 */
function isForOverlay(request: SipRequest, peerIdHex: string): boolean {
  if (request.headers.has('route')) return false;
  return parseSipUri(request.uri)?.user === peerIdHex;
}

const STATELESS_RESULTS: ReadonlySet<RegisterResult> = new Set<RegisterResult>([
  'challenged',
  'auth-backoff',
  'bad-request',
  'forbidden',
  'too-brief',
  'overloaded',
]);

function overloaded(request: SipRequest): SipResponse {
  return createResponse(request, 503, { toTag: localTag(), headers: [['Retry-After', '5']] });
}
