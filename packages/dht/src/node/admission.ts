import type { Zone } from '@xpp/can';
import type { Clock } from '@xpp/reliability';
import type { IncomingInvite, XppCall, XppSession } from '@xpp/session-sdp';
import type { Message, XppOption } from '@xpp/wire';
import { DhtError } from '../errors.js';
import { decodeHandoff, decodeNeighbourUpdate } from '../messages.js';
import { DhtOperation } from '../operations.js';
import { DhtOption } from '../options.js';
import type { NeighbourInfo, WireRecord } from '../values.js';
import type { Announcer } from './announcer.js';
import type { NodeCounters } from './counters.js';
import type { Links } from './links.js';
import type { Membership } from './membership.js';
import { peerIdHex, type NeighbourTable } from './neighbour-table.js';
import type { NodeView } from './parts.js';
import type { PeerInfoCodec } from './peer-info.js';
import type { PeerMemory } from './peer-memory.js';
import { peerFromUri } from './peer-uri.js';
import { Probation } from './probation.js';

/** The bounds of probation (unknown callers admitted to show by their own entry that they abut). */
export interface ProbationBounds {
  readonly capacity: number;
  readonly maxRefused: number;
}

/** What admission needs of its node. */
export interface AdmissionContext extends NodeView {
  readonly clock: Clock;
  readonly timeout: number;
  readonly claimTimeout: number;
  readonly probation: ProbationBounds;
  readonly counters: NodeCounters;
  readonly table: NeighbourTable;
  readonly memory: PeerMemory;
  readonly peerInfo: PeerInfoCodec;
  readonly members: Pick<Membership, 'upsert' | 'touches'>;
  readonly links: Pick<Links, 'bind' | 'attach' | 'acceptFrom' | 'request'>;
  readonly announcer: Pick<Announcer, 'partialUpdate'>;
  accept(invite: IncomingInvite, onSession: (session: XppSession) => void): Promise<XppCall>;
  serve(session: XppSession): void;
  /** A candidate becomes a peer owning `zones`, with the records handed to it. */
  becomePeer(zones: Zone[], records: readonly WireRecord[]): void;
  /** The JOIN is through: the node starts its periodic refresh. */
  joined(): void;
  info(zones: readonly Zone[]): NeighbourInfo;
}

/**
 * Who may open a session to this node and become a peer: the INVITE gate (a candidate accepts the latest
 * invitation; a peer accepts its neighbours and their neighbours, and unknown callers on probation), admission
 * from probation by the caller's own NEIGHBOUR-UPDATE, and the candidate's JOIN.
 */
export class Admission {
  readonly #ctx: AdmissionContext;
  readonly #probation: Probation;
  /** The accepted invitation of a candidate, settled once the session is open. */
  #inviterCall: Promise<XppCall> | undefined;
  /** The session of the invitation a candidate accepted: the only one its JOIN may come on. */
  #inviterSession: XppSession | undefined;
  /** Which accepted invitation is the current one (a later one supersedes it until a JOIN arrives). */
  #invitation: symbol | undefined;

  constructor(ctx: AdmissionContext) {
    this.#ctx = ctx;
    this.#probation = new Probation(ctx.clock, { ...ctx.probation, timeout: ctx.timeout });
  }

  /** Ends every probation (the node closes). */
  stop(): void {
    this.#probation.clear();
  }

  onInvite(invite: IncomingInvite): void {
    const caller = peerFromUri(invite.request.headers.get('from'));
    if (this.#ctx.state() === 'candidate') {
      // Passive join: the latest invitation a candidate accepted opens the session its JOIN must come on. An earlier
      // one that brought no JOIN yet (its inviter gave up or crashed) is hung up: its JOIN would now be refused, and
      // only one JOIN can ever succeed since the candidate is then a peer.
      const previous = this.#inviterCall;
      if (previous !== undefined) void previous.then((call) => call.hangUp()).catch(() => undefined);
      const token = Symbol('invitation');
      this.#invitation = token;
      this.#inviterSession = undefined;
      const accepting = this.#ctx.accept(invite, (session) => {
        if (this.#invitation === token) this.#inviterSession = session;
        this.#ctx.serve(session);
      });
      this.#inviterCall = accepting;
      accepting.catch(() => this.#ctx.counters.refuse('invite-failed'));
      return;
    }
    let known = caller === undefined ? undefined : this.#ctx.table.get(caller);
    if (known === undefined && caller !== undefined && this.#ctx.state() === 'peer') {
      // A neighbour of a neighbour (met in its announced list) calls to coordinate a takeover.
      const view = this.#ctx.memory.secondDegree(caller, this.#ctx.table.values());
      if (view !== undefined) known = this.#ctx.members.upsert(view);
    }
    if (known === undefined && caller !== undefined && this.#onProbation(invite, caller)) return;
    if (this.#ctx.state() !== 'peer' || known === undefined || known.link?.session.isOpen === true) {
      this.#ctx.counters.refuse('uninvited-invite');
      invite.reject(403);
      return;
    }
    this.#ctx.links.acceptFrom(invite, known);
  }

  /**
   * Admits an unknown caller on probation when it was refused once before (it must know this node as a neighbour
   * from somewhere this node has not heard yet) and there is room; remembers it as refused otherwise. The call is
   * hung up unless the caller's own NEIGHBOUR-UPDATE shows zones abutting this node's within a request timeout.
   */
  #onProbation(invite: IncomingInvite, caller: string): boolean {
    if (this.#ctx.state() !== 'peer') return false;
    const entry = this.#probation.begin(caller, (expired) => {
      this.#ctx.counters.refuse('probation-expired');
      void expired.call?.hangUp().catch(() => undefined);
    });
    if (entry === undefined) return false;
    void this.#ctx
      .accept(invite, (session) => {
        this.#ctx.links.bind(session, caller);
        this.#ctx.serve(session);
      })
      .then(
        (call) => {
          entry.call = call;
          const n = this.#ctx.table.get(caller);
          if (entry.admitted && n !== undefined) this.#ctx.links.attach(n, call, false);
          else if (!this.#probation.holds(caller, entry)) void call.hangUp().catch(() => undefined);
        },
        () => {
          this.#ctx.counters.refuse('invite-failed');
          if (this.#probation.holds(caller, entry)) this.#probation.end(caller);
        },
      );
    return true;
  }

  /**
   * The neighbour a NEIGHBOUR-UPDATE on a probation session makes of its caller, when the update's first entry is
   * the caller itself with zones abutting this node's; undefined otherwise (the update is refused as usual).
   */
  admit(caller: string | undefined, request: Message): string | undefined {
    const entry = caller === undefined ? undefined : this.#probation.get(caller);
    if (caller === undefined || entry === undefined) return undefined;
    const [first] = decodeNeighbourUpdate(request.options).neighbours;
    if (first === undefined || peerIdHex(first.peerId) !== caller) return undefined;
    const view = this.#ctx.peerInfo.view(first);
    if (!this.#ctx.members.touches(view.zones)) {
      // It holds an old view of this node: show it this node's zones, so that it drops this node, and hang up.
      this.#probation.end(caller);
      const call = entry.call;
      if (call !== undefined) {
        const notice = this.#ctx.announcer.partialUpdate();
        void this.#ctx.links
          .request(call, DhtOperation.NEIGHBOUR_UPDATE.type, notice, this.#ctx.claimTimeout)
          .catch(() => undefined)
          .finally(() => void call.hangUp().catch(() => undefined));
      }
      return undefined;
    }
    this.#ctx.memory.gone.unbury(view.id);
    const n = this.#ctx.members.upsert(view);
    if (n === undefined) return undefined;
    this.#probation.end(caller);
    entry.admitted = true;
    if (entry.call !== undefined) this.#ctx.links.attach(n, entry.call, false);
    return caller;
  }

  /** A candidate receives its zone, records and neighbours from the peer that invited it. */
  onJoin(session: XppSession, request: Message): readonly XppOption[] {
    if (this.#ctx.state() !== 'candidate' || session !== this.#inviterSession) {
      this.#ctx.counters.refuse('uninvited-join');
      throw new DhtError('FORBIDDEN', 'JOIN is accepted only by a candidate, from the peer that invited it');
    }
    const handoff = decodeHandoff(request.options);
    const zones = this.#ctx.peerInfo.decodeZones(handoff.zones);
    const [inviterInfo] = handoff.neighbours;
    if (inviterInfo === undefined) throw new DhtError('INVALID_ARGUMENT', 'JOIN lists no neighbours');
    this.#ctx.becomePeer(zones, handoff.records);
    for (const info of handoff.neighbours)
      this.#ctx.members.upsert({ ...info, zones: this.#ctx.peerInfo.decodeZones(info.zones) });
    // The first neighbour listed is the inviter, whose session this is; the link is its once the call settles.
    const inviter = this.#ctx.table.get(peerIdHex(inviterInfo.peerId));
    if (inviter !== undefined) {
      this.#ctx.links.bind(session, inviter.id);
      void this.#inviterCall?.then((call) => this.#ctx.links.attach(inviter, call, false));
    }
    this.#ctx.joined();
    return [DhtOption.NEIGHBOUR.option(this.#ctx.info(this.#ctx.zones()), true)];
  }
}
