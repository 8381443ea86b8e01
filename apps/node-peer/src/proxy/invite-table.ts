import type { ServerTransaction, SipRequest, TransportAddress } from '@xpp/session-sdp';
import type { ForkedInvite } from './fork-invite.js';

/** An INVITE sent on to one target: what we sent, for its CANCEL (RFC 3261 §16.10). */
export interface ForwardedInvite {
  readonly kind: 'forwarded';
  readonly forwarded: SipRequest;
  readonly target: TransportAddress;
}

/** An INVITE received and not yet sent on: its caller's assertion, digest or location lookup is awaited. */
export interface RoutingInvite {
  readonly kind: 'routing';
  readonly request: SipRequest;
  readonly transaction: ServerTransaction;
}

/** What a CANCEL can find. */
export type HeldInvite =
  ForwardedInvite | RoutingInvite | { readonly kind: 'fork'; readonly fork: ForkedInvite };

/**
 * The INVITEs a proxy holds, by upstream transaction key (top Via branch and sent-by), at every stage a CANCEL may
 * meet them (RFC 3261 §16.10): while routing (the request awaits the overlay — a CANCEL sent by a forking peer as
 * soon as another branch answered lands here), sent on to one target, or forked. Forwarded and forked INVITEs are
 * bounded by the proxy's pending limit; routing ones by the server transactions that carry them, and swept of
 * answered ones when they reach the same limit.
 */
export class InviteTable {
  readonly #routing = new Map<string, RoutingInvite>();
  readonly #forwarded = new Map<string, ForwardedInvite>();
  readonly #forks = new Map<string, ForkedInvite>();
  readonly #max: number;

  constructor(max: number) {
    this.#max = max;
  }

  /** INVITEs waiting for their final response (forwarded or forked). */
  get pending(): number {
    return this.#forwarded.size + this.#forks.size;
  }

  /** Whether another INVITE may be sent on. */
  get full(): boolean {
    return this.pending >= this.#max;
  }

  /** The INVITE is being routed: a CANCEL now finds it. */
  routing(key: string, request: SipRequest, transaction: ServerTransaction): void {
    if (this.#routing.size >= this.#max) {
      for (const [k, held] of this.#routing)
        if (held.transaction.state !== 'proceeding') this.#routing.delete(k);
      // Still full of live ones: this INVITE goes untracked (a CANCEL for it gets 481), the table stays bounded.
      if (this.#routing.size >= this.#max) return;
    }
    this.#routing.set(key, { kind: 'routing', request, transaction });
  }

  /** The INVITE was sent on to one target. */
  forwarded(key: string, forwarded: SipRequest, target: TransportAddress): void {
    this.#routing.delete(key);
    this.#forwarded.set(key, { kind: 'forwarded', forwarded, target });
  }

  /** The INVITE was forked. */
  forked(key: string, fork: ForkedInvite): void {
    this.#routing.delete(key);
    this.#forks.set(key, fork);
  }

  /** The INVITE is over (answered here, or its final response came back). */
  done(key: string): void {
    this.#routing.delete(key);
    this.#forwarded.delete(key);
    this.#forks.delete(key);
  }

  /** What a CANCEL with this key cancels, if anything. */
  find(key: string): HeldInvite | undefined {
    const fork = this.#forks.get(key);
    if (fork !== undefined) return { kind: 'fork', fork };
    return this.#forwarded.get(key) ?? this.#routing.get(key);
  }

  clear(): void {
    this.#routing.clear();
    this.#forwarded.clear();
    this.#forks.clear();
  }
}
