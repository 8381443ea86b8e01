import { SessionError } from '../errors.js';
import type { TransportAddress } from '../sdp/description.js';

/** Default bound on sessions in one endpoint's table. */
export const DEFAULT_MAX_SESSIONS = 4_096;

/** One row of the demultiplexing table. */
export interface SessionEntry<S> {
  readonly localLtag: number;
  readonly peerLtag: number;
  /** The peer's confirmed address; undefined until the first authenticated (or in-window) fragment. */
  readonly remote: TransportAddress | undefined;
  readonly session: S;
}

/** Why a fragment found no session. */
export type DropReason = 'UNKNOWN_LTAG' | 'PEER_LTAG_MISMATCH';

export type RouteResult<S> =
  | {
      readonly kind: 'session';
      readonly entry: SessionEntry<S>;
      /**
       * False when the source is not the confirmed address (first contact or a NAT rebinding): the endpoint
       * must authenticate the fragment (or, without keys, check it is in the sequence window) before
       * {@link SessionTable.bind}.
       */
      readonly fromKnownAddress: boolean;
    }
  | { readonly kind: 'drop'; readonly reason: DropReason };

export interface SessionTableStats {
  unknownLtag: number;
  peerLtagMismatch: number;
  rebinds: number;
}

/**
 * Spec §2 demultiplexing for one UDP socket: a fragment goes to the session whose own ltag is its Remote ID,
 * and only if its Local ID is that session's peer ltag. Address changes are applied by {@link bind} only.
 */
export class SessionTable<S> {
  readonly stats: SessionTableStats = { unknownLtag: 0, peerLtagMismatch: 0, rebinds: 0 };
  readonly #entries = new Map<number, { -readonly [K in keyof SessionEntry<S>]: SessionEntry<S>[K] }>();
  readonly #max: number;

  constructor(options: { maxSessions?: number } = {}) {
    this.#max = options.maxSessions ?? DEFAULT_MAX_SESSIONS;
  }

  get size(): number {
    return this.#entries.size;
  }

  /** Adds a session. Throws `TOO_LARGE` when full, `INVALID_ARGUMENT` if `localLtag` is taken. */
  add(entry: {
    localLtag: number;
    peerLtag: number;
    session: S;
    remote?: TransportAddress;
  }): SessionEntry<S> {
    if (this.#entries.has(entry.localLtag)) {
      throw new SessionError('INVALID_ARGUMENT', `ltag ${entry.localLtag} already has a session`);
    }
    if (this.#entries.size >= this.#max)
      throw new SessionError('TOO_LARGE', `more than ${this.#max} sessions`);
    const row = {
      localLtag: entry.localLtag,
      peerLtag: entry.peerLtag,
      session: entry.session,
      remote: entry.remote,
    };
    this.#entries.set(entry.localLtag, row);
    return row;
  }

  get(localLtag: number): SessionEntry<S> | undefined {
    return this.#entries.get(localLtag);
  }

  remove(localLtag: number): boolean {
    return this.#entries.delete(localLtag);
  }

  /** Finds the session of a fragment header from `source`; never changes the table. */
  route(
    header: { readonly localId: number; readonly remoteId: number },
    source: TransportAddress,
  ): RouteResult<S> {
    const entry = this.#entries.get(header.remoteId);
    if (entry === undefined) {
      this.stats.unknownLtag++;
      return { kind: 'drop', reason: 'UNKNOWN_LTAG' };
    }
    if (entry.peerLtag !== header.localId) {
      this.stats.peerLtagMismatch++;
      return { kind: 'drop', reason: 'PEER_LTAG_MISMATCH' };
    }
    const known = entry.remote !== undefined && sameAddress(entry.remote, source);
    return { kind: 'session', entry, fromKnownAddress: known };
  }

  /** Records `address` as the session's peer address: call only after authentication or the window check. */
  bind(localLtag: number, address: TransportAddress): void {
    const entry = this.#entries.get(localLtag);
    if (entry === undefined || (entry.remote !== undefined && sameAddress(entry.remote, address))) return;
    if (entry.remote !== undefined) this.stats.rebinds++;
    entry.remote = { address: address.address, port: address.port };
  }

  values(): IterableIterator<SessionEntry<S>> {
    return this.#entries.values();
  }
}

export function sameAddress(a: TransportAddress, b: TransportAddress): boolean {
  return a.port === b.port && a.address === b.address;
}
