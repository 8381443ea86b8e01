import type { Zone } from '@xpp/can';
import type { Clock, TimerHandle } from '@xpp/reliability';
import type { IncomingInvite, TransportAddress, XppSession } from '@xpp/session-sdp';
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
import { peerIdHex, type Link, type NeighbourTable } from './neighbour-table.js';
import type { NodeView } from './parts.js';
import type { PeerInfoCodec } from './peer-info.js';
import type { PeerMemory } from './peer-memory.js';

/**
 * How this node accepts a call: answers `invite` once `admit` agrees to the caller's authenticated id (the
 * certified peer id with membership, spec §5.5; undefined when nothing names the caller), and resolves with the
 * call and that id. A caller `admit` refuses, or whose authentication fails, is answered 403 and the promise
 * rejects.
 */
export type AcceptCall = (
  invite: IncomingInvite,
  onSession: (session: XppSession) => void,
  admit: (peer: string | undefined) => boolean,
) => Promise<{ readonly call: Link; readonly peer: string | undefined }>;

/** How a call that did not come as a SIP INVITE (RELAY-CONNECT) is accepted: as {@link AcceptCall}, invite given. */
export type AcceptOffer = (
  onSession: (session: XppSession) => void,
  admit: (peer: string | undefined) => boolean,
) => Promise<{ readonly call: Link; readonly peer: string | undefined }>;

/** What admission needs of its node. */
export interface AdmissionContext extends NodeView {
  readonly selfId: string;
  readonly clock: Clock;
  readonly timeout: number;
  readonly claimTimeout: number;
  /** Callers with a session that are not neighbours yet, at most. */
  readonly maxCallers: number;
  readonly counters: NodeCounters;
  readonly table: NeighbourTable;
  readonly memory: PeerMemory;
  readonly peerInfo: PeerInfoCodec;
  readonly members: Pick<Membership, 'upsert' | 'touches' | 'checkAnnouncement'>;
  readonly links: Pick<Links, 'bind' | 'attach' | 'request' | 'track' | 'probe'>;
  readonly announcer: Pick<Announcer, 'partialUpdate'>;
  readonly accept: AcceptCall;
  serve(session: XppSession): void;
  /** A candidate becomes a peer owning `zones`, with the records handed to it. */
  becomePeer(zones: Zone[], records: readonly WireRecord[]): void;
  /** The JOIN is through: the node starts its periodic refresh. */
  joined(): void;
  /** Asks the inviter where this node appears from (bounded; never rejects), so that its JOIN answer says it. */
  learnReflexive(inviter: TransportAddress | undefined): Promise<void>;
  info(zones: readonly Zone[]): NeighbourInfo;
}

/** A caller this node has a session with but does not list yet: its own announcement must come within a timeout. */
interface Caller {
  call: Link | undefined;
  readonly timer: TimerHandle;
}

/**
 * Who may open a session to this node (spec xpp-pcan §5.4, docs/decisions/dht-admission.md): a candidate accepts
 * the latest invitation and a JOIN on it only; a peer accepts any caller the dialer authenticated — its
 * neighbours, their neighbours, and callers it does not know yet, which become neighbours by their own
 * NEIGHBOUR-UPDATE (first entry the caller, zones abutting this node's) or are hung up.
 */
export class Admission {
  readonly #ctx: AdmissionContext;
  /** Callers with a session that are not neighbours yet, by id. */
  readonly #callers = new Map<string, Caller>();
  /** The accepted invitation of a candidate, settled once the session is open. */
  #inviterCall: Promise<Link> | undefined;
  /** The session of the invitation a candidate accepted: the only one its JOIN may come on. */
  #inviterSession: XppSession | undefined;
  /** The authenticated id of that inviter: the JOIN's first neighbour must be it. */
  #inviter: string | undefined;
  /** Which accepted invitation is the current one (a later one supersedes it until a JOIN arrives). */
  #invitation: symbol | undefined;

  constructor(ctx: AdmissionContext) {
    this.#ctx = ctx;
  }

  /** Ends every wait for a caller's announcement (the node closes). */
  stop(): void {
    for (const c of this.#callers.values()) this.#ctx.clock.clearTimer(c.timer);
    this.#callers.clear();
  }

  onInvite(invite: IncomingInvite): void {
    if (this.#ctx.state() === 'candidate') this.#onInvitation(invite);
    else this.#onCall(invite);
  }

  /**
   * Passive join: the latest invitation a candidate accepted opens the session its JOIN must come on. An earlier one
   * that brought no JOIN yet (its inviter gave up or crashed) is hung up: its JOIN would now be refused, and only
   * one JOIN can ever succeed since the candidate is then a peer.
   */
  #onInvitation(invite: IncomingInvite): void {
    const previous = this.#inviterCall;
    if (previous !== undefined) void previous.then((call) => call.hangUp()).catch(() => undefined);
    const token = Symbol('invitation');
    this.#invitation = token;
    this.#inviterSession = undefined;
    this.#inviter = undefined;
    const accepting = this.#ctx
      .accept(
        invite,
        (session) => {
          if (this.#invitation === token) this.#inviterSession = session;
          this.#ctx.serve(session);
        },
        (peer) => {
          if (this.#invitation === token) this.#inviter = peer;
          return this.#ctx.state() === 'candidate' && peer !== this.#ctx.selfId;
        },
      )
      .then(({ call }) => call);
    this.#inviterCall = accepting;
    accepting.catch(() => this.#ctx.counters.refuse('invite-failed'));
  }

  /** A peer's side: accepts an authenticated caller `#admit` lets in, and links it once it is a neighbour. */
  #onCall(invite: IncomingInvite): void {
    void this.acceptOffer((onSession, admit) => this.#ctx.accept(invite, onSession, admit)).catch(
      () => undefined,
    );
  }

  /**
   * Accepts a call the way {@link onInvite} does a peer's — `#admit` decides, the caller is linked once it is a
   * neighbour — whatever carried its offer (a SIP INVITE, or RELAY-CONNECT through a common neighbour). Settles
   * as `accept` does.
   */
  acceptOffer(accept: AcceptOffer): Promise<unknown> {
    let caller: string | undefined;
    let session: XppSession | undefined;
    const accepting = accept(
      (s) => {
        session = s;
        if (caller !== undefined) this.#ctx.links.bind(s, caller);
        this.#ctx.serve(s);
      },
      (peer) => {
        if (peer === undefined || !this.#admit(peer)) return false;
        caller = peer;
        if (session !== undefined) this.#ctx.links.bind(session, peer);
        return true;
      },
    );
    this.#ctx.links.track(
      accepting.then(
        ({ call }) => {
          const peer = caller as string;
          const n = this.#ctx.table.get(peer);
          const waiting = this.#callers.get(peer);
          if (n !== undefined && waiting === undefined) this.#ctx.links.attach(n, call, false);
          else if (waiting !== undefined) waiting.call = call;
          else void call.hangUp().catch(() => undefined);
        },
        () => {
          this.#ctx.counters.refuse('invite-failed');
          if (caller !== undefined) this.#endWait(caller);
        },
      ),
    );
    return accepting;
  }

  /**
   * Whether a peer takes a call from `peer` (authenticated): a neighbour without an open link (one with a link is
   * refused, and its link probed: it may have restarted, see Links.probe), a neighbour of a
   * neighbour (it calls to coordinate a takeover), or a caller not known yet while fewer than `maxCallers` wait.
   */
  #admit(peer: string): boolean {
    const ctx = this.#ctx;
    if (ctx.state() !== 'peer' || peer === ctx.selfId) return this.#refuse('uninvited-invite');
    let known = ctx.table.get(peer);
    if (known === undefined) {
      const view = ctx.memory.secondDegree(peer, ctx.table.values());
      if (view !== undefined) known = ctx.members.upsert(view);
    }
    if (known !== undefined) {
      if (known.link?.session.isOpen !== true) return true;
      this.#ctx.links.probe(known);
      return this.#refuse('uninvited-invite');
    }
    if (this.#callers.has(peer) || this.#callers.size >= ctx.maxCallers) return this.#refuse('callers-full');
    const timer = ctx.clock.setTimer(() => {
      const waiting = this.#callers.get(peer);
      if (waiting?.timer !== timer) return;
      this.#callers.delete(peer);
      ctx.counters.refuse('caller-silent');
      void waiting.call?.hangUp().catch(() => undefined);
    }, ctx.timeout);
    this.#callers.set(peer, { call: undefined, timer });
    return true;
  }

  #refuse(reason: string): false {
    this.#ctx.counters.refuse(reason);
    return false;
  }

  #endWait(peer: string): void {
    const waiting = this.#callers.get(peer);
    if (waiting === undefined) return;
    this.#callers.delete(peer);
    this.#ctx.clock.clearTimer(waiting.timer);
  }

  /**
   * The neighbour a caller not known yet becomes by its NEIGHBOUR-UPDATE: the update's first entry is the caller
   * itself, with zones it may claim (Membership.checkAnnouncement) abutting this node's. Undefined otherwise, and
   * the update is refused as from any non-neighbour.
   */
  admit(caller: string | undefined, request: Message): string | undefined {
    const waiting = caller === undefined ? undefined : this.#callers.get(caller);
    if (caller === undefined || waiting === undefined) return undefined;
    const [first] = decodeNeighbourUpdate(request.options).neighbours;
    this.#ctx.members.checkAnnouncement(caller, first);
    const view = this.#ctx.peerInfo.view(first as NeighbourInfo);
    if (!this.#ctx.members.touches(view.zones)) {
      // It holds an old view of this node: show it this node's zones, so that it drops this node, and hang up.
      this.#endWait(caller);
      const call = waiting.call;
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
    this.#endWait(caller);
    if (waiting.call !== undefined) this.#ctx.links.attach(n, waiting.call, false);
    return caller;
  }

  /** A candidate receives its zone, records and neighbours from the peer that invited it. */
  async onJoin(session: XppSession, request: Message): Promise<readonly XppOption[]> {
    if (this.#ctx.state() !== 'candidate' || session !== this.#inviterSession) {
      this.#ctx.counters.refuse('uninvited-join');
      throw new DhtError('FORBIDDEN', 'JOIN is accepted only by a candidate, from the peer that invited it');
    }
    const handoff = decodeHandoff(request.options);
    const zones = this.#ctx.peerInfo.decodeZones(handoff.zones);
    const [inviterInfo] = handoff.neighbours;
    if (inviterInfo === undefined) throw new DhtError('INVALID_ARGUMENT', 'JOIN lists no neighbours');
    // The first neighbour listed is the inviter, whose session this is: it is who the session authenticated.
    if (this.#inviter !== undefined && peerIdHex(inviterInfo.peerId) !== this.#inviter) {
      this.#ctx.counters.refuse('claim-not-sender');
      throw new DhtError('FORBIDDEN', 'a JOIN lists its sender first');
    }
    // The invitation's overlay id is learned when its acceptance settles, which a JOIN sent at once can overtake:
    // it is waited for, so that the node never becomes a peer without its overlay's id (persisted for a restart).
    const call = this.#inviterCall;
    if (call !== undefined) await call.catch(() => undefined);
    // Before the answer: the inviter announces this node with the contact it gives, srflx included (dht-nat.md).
    await this.#ctx.learnReflexive(session.remote);
    if (this.#ctx.state() !== 'candidate' || session !== this.#inviterSession) {
      this.#ctx.counters.refuse('uninvited-join');
      throw new DhtError('FORBIDDEN', 'JOIN is accepted only by a candidate, from the peer that invited it');
    }
    this.#ctx.becomePeer(zones, handoff.records);
    for (const info of handoff.neighbours)
      this.#ctx.members.upsert({ ...info, zones: this.#ctx.peerInfo.decodeZones(info.zones) });
    const inviter = this.#ctx.table.get(peerIdHex(inviterInfo.peerId));
    if (inviter !== undefined) {
      this.#ctx.links.bind(session, inviter.id);
      void this.#inviterCall?.then((call) => this.#ctx.links.attach(inviter, call, false));
    }
    this.#ctx.joined();
    return [DhtOption.NEIGHBOUR.option(this.#ctx.info(this.#ctx.zones()), true)];
  }
}
