import type { Binding, LocationService } from '@xpp/dht';
import {
  SessionError,
  createResponse,
  type ServerTransaction,
  type SipRequest,
  type SipTransactionLayer,
  type TransportAddress,
} from '@xpp/session-sdp';
import type { BindingRoute, ForkTarget, bindingRoute } from './binding-route.js';
import { DEFAULT_MAX_BRANCHES, DEFAULT_TIMER_C_MS } from './fork.js';
import { ForkedInvite } from './fork-invite.js';
import { cancelFor, transactionKeyOf, withoutFirst } from './forwarding.js';
import { InviteTable } from './invite-table.js';
import type { OutgoingRequests } from './outgoing.js';
import type { ProxyRejection } from './rejections.js';
import { localTag } from '../sip/tags.js';

/** Retry-After of the proxy's 503 answers, seconds. */
export const RETRY_AFTER_S = 5;

/** Where a request goes: a binding's route, and for a request to an AOR what a 430 fails over to. */
export interface Route extends BindingRoute {
  /**
   * For a request to an AOR: the chosen binding (`bindingSubkey`) and those passed over already. A 430 from the flow
   * peer (RFC 5626 §5.3) sends the request to the AOR's next binding instead of upstream.
   */
  readonly failover?: { readonly binding: string; readonly skip: ReadonlySet<string> };
}

export interface ProxyForwarderOptions {
  readonly layer: SipTransactionLayer;
  readonly location: Pick<LocationService, 'forgetPeer'>;
  readonly out: OutgoingRequests;
  readonly maxPendingInvites: number;
  readonly maxForkBranches?: number | undefined;
  readonly timerCMs?: number | undefined;
  /** A binding's route, for the branches of a fork. */
  readonly bindingRoute: (aor: string, binding: Binding) => ReturnType<typeof bindingRoute>;
  /** The flow peer answered 430: the request goes to the AOR's next binding, `skip` passed over. */
  readonly failover: (
    request: SipRequest,
    transaction: ServerTransaction,
    aor: string,
    asserted: string | undefined,
    skip: ReadonlySet<string>,
  ) => void;
  readonly onCall?:
    ((event: { method: string; aor: string; status: number; to?: TransportAddress }) => void) | undefined;
}

/**
 * The sending half of the proxy (RFC 3261 §16.6–16.10): a request forwarded statefully or forked, its responses
 * relayed back, its CANCEL, and every answer the proxy gives itself — with the INVITEs in flight and the counts.
 */
export class ProxyForwarder {
  readonly stats = { proxied: 0, rejected: {} as Record<string, number> };
  /** INVITEs being routed, forwarded or forked, for their CANCEL (§16.10). */
  readonly invites: InviteTable;
  readonly #o: ProxyForwarderOptions;

  constructor(options: ProxyForwarderOptions) {
    this.#o = options;
    this.invites = new InviteTable(options.maxPendingInvites);
  }

  /** An INVITE to every contact of `aor` (fork-invite.ts). */
  fork(
    request: SipRequest,
    transaction: ServerTransaction,
    aor: string,
    asserted: string | undefined,
    targets: ForkTarget[],
  ): void {
    // Cancelled while its contacts were looked up: the 487 went already.
    if (transaction.state !== 'proceeding') return;
    const key = transactionKeyOf(request);
    if (key === undefined || this.invites.full) {
      this.reject(request, transaction, 503, 'overloaded');
      return;
    }
    const fork = new ForkedInvite({
      layer: this.#o.layer,
      request,
      transaction,
      targets,
      maxBranches: this.#o.maxForkBranches ?? DEFAULT_MAX_BRANCHES,
      timerCMs: this.#o.timerCMs ?? DEFAULT_TIMER_C_MS,
      route: (binding) => this.#o.bindingRoute(aor, binding),
      prepare: (route) => this.#o.out.prepare(request, transaction, route, asserted),
      forgetPeer: (peer) => this.#o.location.forgetPeer(peer),
      sent: () => this.stats.proxied++,
      failed: (why) => this.count(why),
      answered: (status, to) => {
        this.invites.done(key);
        this.#o.onCall?.({ method: request.method, aor, status, ...(to === undefined ? {} : { to }) });
      },
    });
    this.invites.forked(key, fork);
    fork.start();
  }

  forward(
    request: SipRequest,
    transaction: ServerTransaction | undefined,
    route: Route,
    context: { aor?: string | undefined; asserted?: string | undefined } = {},
  ): void {
    // An INVITE cancelled while it was routed (§16.10): the 487 went already, nothing goes on.
    if (request.method === 'INVITE' && transaction !== undefined && transaction.state !== 'proceeding')
      return;
    const layer = this.#o.layer;
    const aor = context.aor;
    const forwarded = this.#o.out.prepare(request, transaction, route, context.asserted);
    if (transaction === undefined) {
      // The ACK of a 2xx is end to end: no transaction, sent on as it is (§16.11).
      try {
        layer.sendStateless(forwarded, route.target);
        this.stats.proxied++;
      } catch {
        this.count('transport-error');
      }
      return;
    }
    const key = request.method === 'INVITE' ? transactionKeyOf(request) : undefined;
    if (key !== undefined && this.invites.full) {
      this.reject(request, transaction, 503, 'overloaded');
      return;
    }
    const done = (status: number) => {
      if (key !== undefined) this.invites.done(key);
      if (aor !== undefined) this.#o.onCall?.({ method: request.method, aor, status, to: route.target });
    };
    try {
      layer.sendRequest(forwarded, route.target, {
        response: (response) => {
          // §16.7: our own 100 went already; every other response goes back without our Via.
          if (response.status === 100) return;
          const failover = route.failover;
          if (response.status === 430 && aor !== undefined && failover !== undefined) {
            // The flow peer's flow died: the AOR's next binding, if any, takes the request (else 430 upstream).
            if (key !== undefined) {
              this.invites.done(key);
              this.invites.routing(key, request, transaction);
            }
            this.#o.failover(
              request,
              transaction,
              aor,
              context.asserted,
              new Set([...failover.skip, failover.binding]),
            );
            return;
          }
          transaction.respond({ ...response, headers: withoutFirst(response.headers, 'via') });
          if (response.status >= 200) done(response.status);
        },
        timeout: () => {
          if (route.flowPeer !== undefined) this.#o.location.forgetPeer(route.flowPeer);
          this.reject(request, transaction, 408, 'timeout');
          done(408);
        },
        transportError: () => {
          this.reject(request, transaction, 503, 'transport-error');
          done(503);
        },
      });
    } catch (error) {
      this.reject(
        request,
        transaction,
        503,
        SessionError.is(error, 'TOO_LARGE') ? 'overloaded' : 'transport-error',
      );
      return;
    }
    if (key !== undefined) this.invites.forwarded(key, forwarded, route.target);
    this.stats.proxied++;
  }

  /**
   * §16.10: answer the CANCEL 200 and cancel the INVITE — the one we forwarded (its final response comes back as
   * usual), every branch of a fork, or one still being routed, which is answered 487 here and never sent on.
   */
  cancel(request: SipRequest, transaction: ServerTransaction): void {
    const key = transactionKeyOf(request);
    const held = key === undefined ? undefined : this.invites.find(key);
    if (key === undefined || held === undefined) {
      this.reject(request, transaction, 481, 'unmatched-cancel');
      return;
    }
    transaction.respond(createResponse(request, 200, { toTag: localTag() }));
    switch (held.kind) {
      case 'fork':
        held.fork.cancel();
        return;
      case 'routing':
        this.invites.done(key);
        if (held.transaction.state === 'proceeding')
          held.transaction.respond(createResponse(held.request, 487, { toTag: localTag() }));
        return;
      case 'forwarded':
        try {
          this.#o.layer.sendRequest(cancelFor(held.forwarded), held.target, {
            response: () => undefined,
            timeout: () => undefined,
            transportError: () => undefined,
          });
          this.stats.proxied++;
        } catch {
          this.count('overloaded');
        }
    }
  }

  reject(
    request: SipRequest,
    transaction: ServerTransaction | undefined,
    status: number,
    why: ProxyRejection,
    reason?: string,
    extra: [string, string][] = [],
  ): void {
    this.count(why);
    if (request.method === 'INVITE') {
      const key = transactionKeyOf(request);
      if (key !== undefined) this.invites.done(key);
    }
    // A 503 is temporary here (load, or a zone changing hands): say when to try again (RFC 3261 §21.5.4).
    const headers: [string, string][] =
      status === 503 && !extra.some(([name]) => name === 'Retry-After')
        ? [...extra, ['Retry-After', String(RETRY_AFTER_S)]]
        : extra;
    transaction?.respond(
      createResponse(request, status, {
        toTag: localTag(),
        headers,
        ...(reason === undefined ? {} : { reason }),
      }),
    );
  }

  count(why: ProxyRejection): void {
    this.stats.rejected[why] = (this.stats.rejected[why] ?? 0) + 1;
  }
}
