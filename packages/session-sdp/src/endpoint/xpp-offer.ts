import { SessionError } from '../errors.js';
import type { TransportAddress, XppDescription } from '../sdp/description.js';
import { signDescription, verifyDescription, type SessionAuthenticator } from './session-auth.js';
import type { OpenOptions, PreparedSession } from './endpoint-types.js';
import type { XppEndpoint } from './xpp-endpoint.js';
import type { XppSession } from './xpp-session.js';

/** What both ends of a session may add to its descriptions (with SIP: `placeXppCall` / `acceptXppCall`). */
export interface XppCallAuthOptions {
  /**
   * Authenticates the other side before its session opens (xpp-pcan §5.5): this side's description carries
   * `a=xpp-auth` from `auth.sign`, the other's is checked with `auth.verify`. Needs security other than `off`.
   */
  readonly auth?: SessionAuthenticator;
  /**
   * This side's overlay id (16 octets), sent as `a=xpp-overlay` (xpp-pcan §4). When the other side names a
   * different one the session is refused — 403 to an offer, no SYN and BYE for an answer — with
   * `OVERLAY_MISMATCH`. A side that names none (a candidate that has not joined yet) is not refused: it learns the
   * id from `XppCall.overlay`.
   */
  readonly overlay?: Uint8Array;
}

/**
 * How an offer and its answer that travel by other means than SIP (an overlay relaying them over its links,
 * docs/decisions/dht-nat.md) are checked and opened: the same descriptions, `a=xpp-auth` and overlay checks as a
 * SIP call.
 */
export interface XppExchangeOptions extends XppCallAuthOptions, OpenOptions {
  /**
   * Stands for the SIP Call-ID in the `a=xpp-auth` transcript: chosen by the offerer, unique per exchange, carried
   * with the offer. The answerer must use the one that came with the offer.
   */
  readonly callId: string;
  /**
   * Sends the SYNs and every later datagram to this address only, instead of the other side's candidates: a relay
   * that forwards the session (it sees only ciphertext; the session is authenticated end to end as ever).
   */
  readonly via?: TransportAddress;
}

/** A session set up by an exchange, with who the other side is (`auth.verify`'s id) and its overlay id. */
export interface ExchangedSession {
  readonly session: XppSession;
  readonly peer: string | undefined;
  readonly overlay: Uint8Array | undefined;
}

/** An offer made without SIP: send `description`, then `complete(answer)` opens the session. */
export interface XppOffer {
  readonly description: XppDescription;
  /**
   * Checks the answer (`a=xpp-auth` before any SYN, then the overlay) and opens the session. Rejects with
   * `UNAUTHENTICATED`, `OVERLAY_MISMATCH` or the setup's failure (`SETUP_TIMEOUT`, `INSECURE_PEER`, `ABORTED`).
   */
  complete(answer: XppDescription): Promise<ExchangedSession>;
  /** Gives the ltag back when no answer will come. */
  cancel(): void;
}

/** What the checks take (every field may be given as undefined: the callers pass their options through). */
interface CheckOptions {
  readonly auth?: SessionAuthenticator | undefined;
  readonly overlay?: Uint8Array | undefined;
  readonly signal?: AbortSignal | undefined;
}

/** Whether `remote` names an overlay other than `local` (either absent: no conflict). */
function overlayMismatch(local: Uint8Array | undefined, remote: Uint8Array | undefined): boolean {
  return local !== undefined && remote !== undefined && !Buffer.from(local).equals(remote);
}

function overlayError(remote: Uint8Array): SessionError {
  return new SessionError(
    'OVERLAY_MISMATCH',
    `the other side is in overlay ${Buffer.from(remote).toString('hex')}, not this one`,
  );
}

export function withOverlay<D extends { overlay?: Uint8Array }>(
  description: D,
  overlay: Uint8Array | undefined,
): D {
  return overlay === undefined ? description : { ...description, overlay };
}

/**
 * Checks an answer to `prepared`'s offer before any SYN leaves: its `a=xpp-auth` (with `auth`), then its overlay.
 * Resolves with the answerer's authenticated id; on failure the ltag is given back.
 */
export async function checkAnswer(
  endpoint: XppEndpoint,
  prepared: PreparedSession,
  answer: XppDescription,
  options: CheckOptions & { readonly callId: string | undefined },
): Promise<string | undefined> {
  const { auth, overlay, callId } = options;
  let peer: string | undefined;
  if (auth !== undefined && callId !== undefined) {
    peer = await verifyDescription(auth, answer, callId, {
      offer: prepared.description,
      signal: options.signal,
    }).catch((error: unknown) => {
      prepared.cancel();
      if (SessionError.is(error, 'UNAUTHENTICATED')) endpoint.countAuthRefused();
      throw error;
    });
  }
  if (overlayMismatch(overlay, answer.overlay)) {
    prepared.cancel();
    throw overlayError(answer.overlay as Uint8Array);
  }
  return peer;
}

/**
 * Checks an offer before it is answered: the endpoint's security policy (`INSECURE_PEER`), its `a=xpp-auth` with
 * `auth` (`UNAUTHENTICATED`), `admit` on the verified id (`FORBIDDEN`) and, after authentication — an outsider is
 * refused as one, whatever overlay it names —, its overlay (`OVERLAY_MISMATCH`). Resolves with the offerer's id.
 */
export async function checkOffer(
  endpoint: XppEndpoint,
  offer: XppDescription,
  options: CheckOptions & {
    readonly callId: string;
    readonly admit?: ((peer: string) => boolean) | undefined;
  },
): Promise<string | undefined> {
  if (!endpoint.accepts(offer))
    throw new SessionError('INSECURE_PEER', 'the offer has no a=xpp-key and this endpoint requires security');
  const { auth } = options;
  let peer: string | undefined;
  if (auth !== undefined) {
    peer = await verifyDescription(auth, offer, options.callId, { signal: options.signal }).catch(
      (error: unknown) => {
        if (SessionError.is(error, 'UNAUTHENTICATED')) endpoint.countAuthRefused();
        throw error;
      },
    );
    if (options.admit?.(peer) === false)
      throw new SessionError('FORBIDDEN', `peer ${peer} authenticated but not admitted`);
  }
  if (overlayMismatch(options.overlay, offer.overlay)) throw overlayError(offer.overlay as Uint8Array);
  return peer;
}

/** The SIP status a refused offer is answered with (see {@link checkOffer}). */
export function offerRefusalStatus(error: unknown): number {
  if (SessionError.is(error, 'INSECURE_PEER') || SessionError.is(error, 'BAD_SDP')) return 488;
  if (
    SessionError.is(error, 'UNAUTHENTICATED') ||
    SessionError.is(error, 'FORBIDDEN') ||
    SessionError.is(error, 'OVERLAY_MISMATCH')
  )
    return 403;
  return 480;
}

/** The description the SYNs go to: `remote` itself, or only the relay `via`. */
function targetOf(remote: XppDescription, via: TransportAddress | undefined): XppDescription {
  return via === undefined ? remote : { ...remote, address: via.address, port: via.port, candidates: [] };
}

function openOptions(options: OpenOptions): OpenOptions {
  return {
    ...(options.signal === undefined ? {} : { signal: options.signal }),
    ...(options.onSession === undefined ? {} : { onSession: options.onSession }),
  };
}

/** Makes an offer whose answer comes back by other means than SIP (see {@link XppExchangeOptions}). */
export function offerXppDescription(endpoint: XppEndpoint, options: XppExchangeOptions): XppOffer {
  const prepared = endpoint.prepare();
  let description = withOverlay(prepared.description, options.overlay);
  try {
    if (options.auth !== undefined) description = signDescription(options.auth, description, options.callId);
  } catch (error) {
    prepared.cancel();
    throw error;
  }
  return {
    description,
    cancel: () => prepared.cancel(),
    complete: async (answer) => {
      const peer = await checkAnswer(endpoint, prepared, answer, options);
      const session = await prepared.open(targetOf(answer, options.via), openOptions(options));
      return { session, peer, overlay: answer.overlay };
    },
  };
}

/**
 * Answers an offer that came by other means than SIP: checks it ({@link checkOffer}), describes this side (signed
 * over both sides with `auth`) and starts the SYNs at once. Rejects before answering when the offer is refused;
 * `opened` settles with the session once the exchange of SYNs is through.
 */
export async function answerXppDescription(
  endpoint: XppEndpoint,
  offer: XppDescription,
  options: XppExchangeOptions & { readonly admit?: (peer: string) => boolean },
): Promise<{ readonly description: XppDescription; readonly opened: Promise<ExchangedSession> }> {
  const peer = await checkOffer(endpoint, offer, options);
  const prepared = endpoint.prepare();
  let description = withOverlay(prepared.description, options.overlay);
  try {
    if (options.auth !== undefined)
      description = signDescription(options.auth, description, options.callId, offer);
  } catch (error) {
    prepared.cancel();
    throw error;
  }
  const opened = prepared
    .open(targetOf(offer, options.via), openOptions(options))
    .then((session) => ({ session, peer, overlay: offer.overlay }));
  return { description, opened };
}
