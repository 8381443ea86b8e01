import { bindingSubkey, type RegisteredBinding } from '@xpp/dht';
import {
  createResponse,
  SessionError,
  type ClientTransaction,
  type ServerTransaction,
  type SipRequest,
  type SipResponse,
  type SipTransactionLayer,
  type TimerHandle,
  type TransportAddress,
} from '@xpp/session-sdp';
import { localTag } from '../sip/tags.js';
import type { BindingRoute, ForkTarget } from './binding-route.js';
import { forkGroups, ResponseContext, type ForkAction } from './fork.js';
import { cancelFor, relayStrayResponse, withoutFirst } from './forwarding.js';
import { REJECTION_STATUS, type ProxyRejection } from './rejections.js';

/** A response in the context: one relayed from a branch (our Via on top), or one of our own. */
interface Reply {
  readonly status: number;
  readonly message: SipResponse;
  /** The branch it came from; undefined for our own. */
  readonly branch?: number;
}

interface Branch {
  readonly target: ForkTarget;
  /** Bindings of the target passed over (their flow failed: 430). */
  readonly skip: Set<string>;
  route?: BindingRoute;
  forwarded?: SipRequest;
  client?: ClientTransaction;
  timerC?: TimerHandle | undefined;
}

export interface ForkedInviteOptions {
  readonly layer: SipTransactionLayer;
  readonly request: SipRequest;
  readonly transaction: ServerTransaction;
  readonly targets: readonly ForkTarget[];
  readonly maxBranches: number;
  readonly timerCMs: number;
  /** Where a binding is reached (binding-route.ts); a rejection, or a throw (overlay error), fails the branch. */
  readonly route: (binding: RegisteredBinding) => Promise<BindingRoute | ProxyRejection>;
  /** The INVITE as sent on a branch (Via, Max-Forwards, Record-Route, asserted identity). */
  readonly prepare: (route: BindingRoute) => SipRequest;
  /** A flow peer that did not answer: its cached PEER record is dropped. */
  readonly forgetPeer: (peer: string) => void;
  /** A request went out on a branch (counted). */
  readonly sent: () => void;
  /** A branch failed here (counted like the proxy's own rejections). */
  readonly failed: (why: ProxyRejection) => void;
  /** The final response went upstream (`to`: the branch that gave it, when one did). */
  readonly answered: (status: number, to: TransportAddress | undefined) => void;
}

/**
 * The I/O of an INVITE forked to the contacts of an AOR (RFC 3261 §16.6–16.8): sends the branches the response
 * context asks for, relays their responses into it, runs Timer C per branch and sends the CANCELs it decides.
 * On 430 a branch moves to the next flow of the same instance (RFC 5626 §5.3) without the context seeing it.
 */
export class ForkedInvite {
  readonly #o: ForkedInviteOptions;
  readonly #ctx: ResponseContext<Reply>;
  readonly #branches: Branch[];

  constructor(options: ForkedInviteOptions) {
    this.#o = options;
    const groups = forkGroups(options.targets, options.maxBranches);
    this.#branches = groups.flat().map((target) => ({ target, skip: new Set<string>() }));
    this.#ctx = new ResponseContext<Reply>(
      groups.map((g) => g.length),
      (status) => ({
        status,
        message: createResponse(options.request, status, { toTag: localTag() }),
      }),
    );
  }

  /** Rings the first group. */
  start(): void {
    this.#run(this.#ctx.start());
  }

  /** The caller's CANCEL (RFC 3261 §16.10): every pending branch is cancelled. */
  cancel(): void {
    this.#run(this.#ctx.cancel());
  }

  #run(actions: readonly ForkAction<Reply>[]): void {
    for (const action of actions) {
      switch (action.kind) {
        case 'send':
          for (const i of action.branches) void this.#send(i);
          break;
        case 'cancel':
          for (const i of action.branches) this.#sendCancel(i);
          break;
        case 'restart-timer':
          this.#armTimerC(action.branch);
          break;
        case 'forward':
          this.#forward(action.response, action.final);
      }
    }
    if (this.#ctx.settled) for (const i of this.#branches.keys()) this.#clearTimerC(i);
  }

  #forward(reply: Reply, final: boolean): void {
    const { transaction } = this.#o;
    const upstream =
      reply.branch === undefined
        ? reply.message
        : { ...reply.message, headers: withoutFirst(reply.message.headers, 'via') };
    if (final || reply.status < 200) transaction.respond(upstream);
    // A 2xx after the final response: the server transaction is over, the 2xx goes on by its Via (§16.7 step 5).
    else relayStrayResponse(this.#o.layer, reply.message);
    if (final) {
      const route = reply.branch === undefined ? undefined : this.#branches[reply.branch]?.route;
      this.#o.answered(reply.status, route?.target);
    }
  }

  /** Our own response for branch `i`: it could not be sent, its flow peer did not answer, or it was cancelled. */
  #fail(i: number, why: ProxyRejection | 'cancelled'): void {
    const status = why === 'cancelled' ? 487 : REJECTION_STATUS[why];
    if (why !== 'cancelled') this.#o.failed(why);
    this.#clearTimerC(i);
    this.#run(
      this.#ctx.response(i, {
        status,
        message: createResponse(this.#o.request, status, { toTag: localTag() }),
      }),
    );
  }

  async #send(i: number): Promise<void> {
    const branch = this.#branches[i]!;
    const binding = branch.target.bindings.find((b) => !branch.skip.has(bindingSubkey(b)));
    if (binding === undefined) {
      this.#fail(i, 'flow-failed');
      return;
    }
    let route: BindingRoute | ProxyRejection;
    try {
      route = await this.#o.route(binding);
    } catch {
      route = 'overlay-error';
    }
    if (typeof route === 'string') {
      this.#fail(i, route);
      return;
    }
    // Answered or cancelled while the route was looked up: this branch need not ring at all.
    if (this.#ctx.cancelWanted(i)) {
      this.#fail(i, 'cancelled');
      return;
    }
    const forwarded = this.#o.prepare(route);
    Object.assign(branch, { route, forwarded });
    try {
      branch.client = this.#o.layer.sendRequest(forwarded, route.target, {
        response: (response) => this.#response(i, binding, response),
        timeout: () => {
          if (route.flowPeer !== undefined) this.#o.forgetPeer(route.flowPeer);
          this.#fail(i, 'timeout');
        },
        transportError: () => this.#fail(i, 'transport-error'),
      });
    } catch (error) {
      this.#fail(i, SessionError.is(error, 'TOO_LARGE') ? 'overloaded' : 'transport-error');
      return;
    }
    this.#o.sent();
    this.#armTimerC(i);
  }

  #response(i: number, binding: RegisteredBinding, response: SipResponse): void {
    const branch = this.#branches[i]!;
    if (response.status === 430 && !this.#ctx.branchDone(i)) {
      // The flow died: the instance's next flow, if any (else a 430 for this branch).
      this.#clearTimerC(i);
      branch.skip.add(bindingSubkey(binding));
      void this.#send(i);
      return;
    }
    if (response.status >= 200) this.#clearTimerC(i);
    this.#run(this.#ctx.response(i, { status: response.status, message: response, branch: i }));
  }

  #sendCancel(i: number): void {
    const { forwarded, route } = this.#branches[i]!;
    if (forwarded === undefined || route === undefined) return;
    try {
      this.#o.layer.sendRequest(cancelFor(forwarded), route.target, {
        response: () => undefined,
        timeout: () => undefined,
        transportError: () => undefined,
      });
      this.#o.sent();
    } catch {
      // No room for the CANCEL's transaction: Timer C gives the branch up.
    }
  }

  #armTimerC(i: number): void {
    this.#clearTimerC(i);
    const clock = this.#o.layer.clock;
    this.#branches[i]!.timerC = clock.setTimer(() => {
      this.#branches[i]!.timerC = undefined;
      const actions = this.#ctx.timerC(i);
      if (this.#ctx.branchDone(i)) this.#branches[i]!.client?.abandon();
      else this.#armTimerC(i);
      this.#run(actions);
    }, this.#o.timerCMs);
  }

  #clearTimerC(i: number): void {
    const branch = this.#branches[i]!;
    if (branch.timerC !== undefined) this.#o.layer.clock.clearTimer(branch.timerC);
    branch.timerC = undefined;
  }
}
