import type { Clock } from '@xpp/reliability';
import {
  acceptXppCall,
  answerXppDescription,
  offerXppDescription,
  placeXppCall,
  type ExchangedSession,
  type TransportAddress,
  type XppDescription,
  type XppOffer,
  SessionError,
  type IncomingInvite,
  type SessionAuthenticator,
  type SipUserAgent,
  type XppCall,
  type XppEndpoint,
  type XppSession,
} from '@xpp/session-sdp';
import { DhtError } from '../errors.js';
import { CertificateCache } from '../membership/certificate-cache.js';
import { verifyPeerCertificate, type PeerCertificate } from '../membership/certificate.js';
import { createOriginVerifier, signOrigin } from '../membership/origin.js';
import { createPeerAuthenticator, unixSeconds } from '../membership/peer-authenticator.js';
import { CertificateRefusedError } from '../membership/refusal.js';
import { createRevocationVerifier, type RevocationVerifier } from '../membership/revocation.js';
import { unverifiedOrigin, type OriginAuthority } from '../origin.js';
import type { NodeCounters } from './counters.js';
import type { Neighbour } from './neighbour-table.js';
import type { NodeMembership } from './node-options.js';
import { peerFromUri } from './peer-uri.js';
import { Revocations } from './revocations.js';

/** What the node's authentication needs of it. */
export interface NodeAuthContext {
  readonly membership: NodeMembership | undefined;
  readonly peerId: Uint8Array;
  readonly clock: Clock;
  readonly counters: NodeCounters;
  /** Bound of one revocation lookup, ms. */
  readonly claimTimeout: number;
  readonly refreshInterval: number;
  /** Revoked (and clean) peers remembered. */
  readonly maxRemembered: number;
  ua(): SipUserAgent;
  endpoint(): XppEndpoint;
  /** The values stored under `revoked:<id>` (a GET). */
  lookup(id: string): Promise<readonly Uint8Array[]>;
  /** Whether this node's own store holds a revocation of `id` (its store admits only administrator-signed ones). */
  holdsRevocation(id: string): boolean;
  /** Nobody to ask about revocations (not a peer, or no neighbour). */
  alone(): boolean;
  /** The linked neighbours, re-checked at each refresh. */
  linked(): Neighbour[];
  /** The current table entry of `id`. */
  neighbour(id: string): Neighbour | undefined;
  /** Hangs up a revoked neighbour and takes its zone over as a dead peer's. */
  hangUp(n: Neighbour): void;
  /** The node's overlay id (spec §4), undefined for a candidate that has not learned it. */
  overlay(): Uint8Array | undefined;
  /** A candidate's accepted invitation named `overlay`: the one it joins, if its JOIN comes on that session. */
  invitedTo(overlay: Uint8Array): void;
}

/**
 * Who the node's calls are with (spec xpp-pcan §5.5, docs/decisions/dht-admission.md): with membership every call
 * placed or accepted is authenticated by certificate, revocations are looked up and re-checked, and routed writes
 * carry a signed ORIGIN. Without, a caller is who its SIP From says (tests and benches only).
 */
export class NodeAuth {
  readonly #ctx: NodeAuthContext;
  readonly #auth: SessionAuthenticator | undefined;
  readonly #revocations: Revocations | undefined;
  /** The certificate this node presents now: its membership's, until {@link renew} gives a newer one. */
  #certificate: PeerCertificate | undefined;
  /**
   * Signs this side's `a=xpp-auth` with {@link #certificate}. Apart from the verifying authenticator, so that a
   * renewal swaps it alone and the peers' verified certificates stay cached.
   */
  #signer: SessionAuthenticator | undefined;
  /** When the neighbours' revocations were last looked up (clock `now`). */
  #lastRecheck: number | undefined;
  /**
   * The peers' certificates verified here, shared by the session authenticator and the origin verifier: both see
   * the same neighbours' certificates, so one bounded cache holds each once (issue #16's RSS per peer).
   */
  readonly #certificates: CertificateCache | undefined;

  constructor(ctx: NodeAuthContext) {
    this.#ctx = ctx;
    const membership = ctx.membership;
    if (membership === undefined) return;
    const revocations = new Revocations({
      clock: ctx.clock,
      admins: membership.admins,
      wait: ctx.claimTimeout,
      max: ctx.maxRemembered,
      fresh: membership.revocationCheckInterval ?? ctx.refreshInterval,
      lookup: (id) => ctx.lookup(id),
      alone: () => ctx.alone(),
      revoked: (id) => {
        const n = ctx.neighbour(id);
        if (n !== undefined) this.#hangUp(n);
      },
    });
    this.#revocations = revocations;
    this.#certificate = membership.certificate;
    const certificates = new CertificateCache({ admins: membership.admins, domain: membership.domain });
    this.#certificates = certificates;
    const verifier = createPeerAuthenticator({
      ...membership,
      cache: certificates,
      clock: ctx.clock,
      isRevoked: (id) => revocations.isRevoked(id),
      refused: (reason) => ctx.counters.refuse(`certificate-${reason}`),
    });
    this.#signer = verifier;
    this.#auth = {
      sign: (transcript) => (this.#signer ?? verifier).sign(transcript),
      verify: (auth, transcript) => verifier.verify(auth, transcript),
    };
  }

  /** The certificate this node presents (undefined without membership). */
  get certificate(): PeerCertificate | undefined {
    return this.#certificate;
  }

  /**
   * Presents `certificate` from now on (spec §5.3 renewal, docs/decisions/dht-certificate-renewal.md): in the
   * `a=xpp-auth` of every session set up from now and in every ORIGIN this node signs. Sessions open stay up (their
   * peers checked the old certificate at setup, as for any session). Throws `CERTIFICATE_REFUSED` (with its
   * reason) unless the certificate is for this node's key, signed by an administrator key, for the overlay's domain
   * and valid now; `INVALID_ARGUMENT` when it expires no later than the one in use, or the node has no membership.
   */
  renew(certificate: PeerCertificate): void {
    const membership = this.#ctx.membership;
    const current = this.#certificate;
    if (membership === undefined || current === undefined)
      throw new DhtError('INVALID_ARGUMENT', 'a node without membership has no certificate to renew');
    const { identity, admins, domain } = membership;
    const clock = this.#ctx.clock;
    verifyPeerCertificate(certificate, { admins, domain, now: unixSeconds(clock), peerId: identity.peerId });
    // A renewal only ever moves the expiry later: an older certificate replayed here would shorten the node's life.
    if (certificate.notAfter <= current.notAfter)
      throw new DhtError(
        'INVALID_ARGUMENT',
        `the certificate expires at ${certificate.notAfter}, not after the one in use (${current.notAfter})`,
      );
    // Its own cache is empty (cacheSize 0): this authenticator only signs; the verifying one keeps the cache.
    this.#signer = createPeerAuthenticator({ identity, certificate, admins, domain, clock, cacheSize: 0 });
    this.#certificate = certificate;
  }

  /** The ORIGIN authority of the node's routed writes (spec §5.6). */
  origin(): OriginAuthority {
    const { membership, clock } = this.#ctx;
    if (membership === undefined) return unverifiedOrigin(this.#ctx.peerId);
    const identity = membership.identity;
    const { admins, domain } = membership;
    const cache = this.#certificates;
    const check = createOriginVerifier({ admins, domain, clock, ...(cache === undefined ? {} : { cache }) });
    const revocations = this.#revocations;
    // A routed write's origin is no session peer of this node, so no setup check saw it: its certificate may hold
    // while its peer is revoked. Refused when this node knows the revocation (looked up, or held in its store as
    // owner or replica); otherwise the lookup `isRevoked` starts makes it known for the next write, as at setup.
    const verify = (origin: Uint8Array, bytes: Uint8Array): string => {
      const id = check(origin, bytes);
      if (this.#ctx.holdsRevocation(id) || revocations?.isRevoked(id) === true) {
        this.#ctx.counters.refuse('certificate-revoked');
        throw new CertificateRefusedError('revoked', `the origin ${id} is revoked`);
      }
      return id;
    };
    // The certificate in use at each signature: a renewed one from the moment it is given.
    const sign = (bytes: Uint8Array): Uint8Array =>
      signOrigin(identity, this.#certificate ?? membership.certificate, bytes);
    return { sign, verify, verified: true };
  }

  /** The check of REVOCATION records for the node's own store: the admin keys' signature. */
  revocationVerifier(): RevocationVerifier | undefined {
    const membership = this.#ctx.membership;
    return membership === undefined ? undefined : createRevocationVerifier(membership.admins);
  }

  /** Places a call, authenticated with membership (the callee's certified id is then `call.peer`). */
  place(uri: string, onSession: (session: XppSession) => void, signal?: AbortSignal): Promise<XppCall> {
    const overlay = this.#ctx.overlay();
    return placeXppCall(this.#ctx.ua(), this.#ctx.endpoint(), uri, {
      ...(signal === undefined ? {} : { signal }),
      ...(this.#auth === undefined ? {} : { auth: this.#auth }),
      ...(overlay === undefined ? {} : { overlay }),
      onSession,
    }).catch((error: unknown) => {
      if (SessionError.is(error, 'OVERLAY_MISMATCH')) this.#ctx.counters.refuse('overlay-mismatch');
      throw error;
    });
  }

  /** Whether this node authenticates its sessions by certificate (it may relay, and use relays). */
  get certified(): boolean {
    return this.#auth !== undefined;
  }

  /**
   * An offer whose answer comes back over the overlay (RELAY-CONNECT, docs/decisions/dht-nat.md): signed like a
   * SIP call's, `callId` standing for the Call-ID; with `via`, the session's datagrams go to that relay only.
   */
  offer(
    callId: string,
    via: TransportAddress | undefined,
    onSession: (session: XppSession) => void,
    signal: AbortSignal,
  ): XppOffer {
    const overlay = this.#ctx.overlay();
    return offerXppDescription(this.#ctx.endpoint(), {
      callId,
      onSession,
      signal,
      ...(this.#auth === undefined ? {} : { auth: this.#auth }),
      ...(overlay === undefined ? {} : { overlay }),
      ...(via === undefined ? {} : { via }),
    });
  }

  /** Answers an offer that came over the overlay (see {@link offer}); `admit` sees the offerer's certified id. */
  answer(
    offer: XppDescription,
    callId: string,
    via: TransportAddress | undefined,
    onSession: (session: XppSession) => void,
    admit: (peer: string) => boolean,
    signal: AbortSignal,
  ): Promise<{ readonly description: XppDescription; readonly opened: Promise<ExchangedSession> }> {
    if (this.#auth === undefined)
      return Promise.reject(new DhtError('FORBIDDEN', 'sessions over the overlay need membership'));
    const overlay = this.#ctx.overlay();
    return answerXppDescription(this.#ctx.endpoint(), offer, {
      callId,
      onSession,
      signal,
      admit,
      auth: this.#auth,
      ...(overlay === undefined ? {} : { overlay }),
      ...(via === undefined ? {} : { via }),
    });
  }

  /**
   * Accepts a call (see AcceptCall). With membership the caller is who its certificate says (spec §5.5: the From
   * header names nobody the overlay relies on). Without, nothing authenticates it: its id is the user part of the
   * INVITE's From, which anyone can write — for tests and benches in a closed network only.
   */
  async accept(
    invite: IncomingInvite,
    onSession: (session: XppSession) => void,
    admit: (peer: string | undefined) => boolean,
  ): Promise<{ call: XppCall; peer: string | undefined }> {
    const endpoint = this.#ctx.endpoint();
    const known = this.#ctx.overlay();
    const overlay = known === undefined ? {} : { overlay: known };
    const learn = (call: XppCall): XppCall => {
      if (known === undefined && call.overlay !== undefined) this.#ctx.invitedTo(call.overlay);
      return call;
    };
    const counted = (error: unknown): never => {
      if (SessionError.is(error, 'OVERLAY_MISMATCH')) this.#ctx.counters.refuse('overlay-mismatch');
      throw error;
    };
    if (this.#auth !== undefined) {
      const call = await acceptXppCall(invite, endpoint, { onSession, auth: this.#auth, admit, ...overlay })
        .then(learn)
        .catch(counted);
      return { call, peer: call.peer };
    }
    const peer = peerFromUri(invite.request.headers.get('from'));
    if (!admit(peer)) {
      invite.reject(403);
      throw new DhtError('FORBIDDEN', 'caller refused');
    }
    const call = await acceptXppCall(invite, endpoint, { onSession, ...overlay })
      .then(learn)
      .catch(counted);
    return { call, peer };
  }

  /**
   * Each refresh (at most once per `revocationCheckInterval`): a neighbour revoked since its session opened is
   * hung up.
   */
  async recheck(): Promise<void> {
    if (this.#revocations === undefined || this.#ctx.alone()) return;
    const now = this.#ctx.clock.now();
    const every = this.#ctx.membership?.revocationCheckInterval;
    if (every !== undefined && this.#lastRecheck !== undefined && now - this.#lastRecheck < every) return;
    this.#lastRecheck = now;
    for (const n of await this.#revocations.recheck(this.#ctx.linked()))
      if (this.#ctx.neighbour(n.id) === n) this.#hangUp(n);
  }

  #hangUp(n: Neighbour): void {
    this.#ctx.counters.refuse('revoked-neighbour');
    this.#ctx.hangUp(n);
  }
}
