import { SessionError } from '../errors.js';
import type { ParsedXppDescription } from '../sdp/description.js';
import { buildSdp, parseSdp } from '../sdp/sdp.js';
import { offerXppSession, SDP_CONTENT_TYPE, type XppSignallingOptions } from '../sdp/signalling.js';
import type { SipCall } from '../sip/call.js';
import type { IncomingInvite } from '../sip/incoming-invite.js';
import type { SipUserAgent } from '../sip/user-agent.js';
import type { OpenOptions } from './endpoint-types.js';
import type { XppEndpoint } from './xpp-endpoint.js';
import { signDescription } from './session-auth.js';
import {
  checkAnswer,
  checkOffer,
  offerRefusalStatus,
  withOverlay,
  type XppCallAuthOptions,
} from './xpp-offer.js';
import type { XppSession } from './xpp-session.js';

export type { XppCallAuthOptions } from './xpp-offer.js';

/** An XPP session together with the SIP call (dialog) that set it up: a BYE either way ends both. */
export interface XppCall {
  readonly call: SipCall;
  readonly session: XppSession;
  /** The other side's id as the `auth` given to set the call up verified it; undefined without `auth`. */
  readonly peer: string | undefined;
  /** The overlay id the other side's description named (`a=xpp-overlay`), if any: how a joiner learns its own. */
  readonly overlay: Uint8Array | undefined;
  /** Sends BYE and closes the session. */
  hangUp(options?: { signal?: AbortSignal }): Promise<void>;
}

/**
 * Sets up an XPP session by SIP alone (spec §4), as the offerer: INVITE to `uri` with this endpoint's
 * description, then SYN to every candidate of the answer. Rejects with the SIP failure (`SIP_REJECTED` — a 403
 * when the answerer refused our `a=xpp-auth` —, `SIP_TIMEOUT`, `BAD_SDP`) or the setup failure (`SETUP_TIMEOUT`,
 * `INSECURE_PEER`, `ABORTED`, `OVERLAY_MISMATCH`); with `auth`, an answer whose `a=xpp-auth` does not hold rejects with
 * `UNAUTHENTICATED` before any SYN is sent. A call whose session failed is ended with BYE.
 */
export async function placeXppCall(
  ua: SipUserAgent,
  endpoint: XppEndpoint,
  uri: string,
  options: XppSignallingOptions & Pick<OpenOptions, 'onSession'> & XppCallAuthOptions = {},
): Promise<XppCall> {
  const prepared = endpoint.prepare();
  const { auth, overlay } = options;
  let setup;
  let callId: string | undefined;
  try {
    let local = withOverlay(prepared.description, overlay);
    if (auth !== undefined) {
      callId = options.callId ?? ua.newCallId();
      local = signDescription(auth, local, callId);
    }
    setup = await offerXppSession(ua, uri, local, callId === undefined ? options : { ...options, callId });
  } catch (error) {
    prepared.cancel();
    throw error;
  }
  let peer: string | undefined;
  let session: XppSession;
  try {
    // Before open(): no SYN leaves for an answer that does not authenticate, or names another overlay.
    peer = await checkAnswer(endpoint, prepared, setup.remote, {
      auth,
      overlay,
      callId,
      signal: options.signal,
    });
    session = await prepared.open(setup.remote, openOptions(options));
  } catch (error) {
    void setup.call.bye().catch(() => undefined);
    throw error;
  }
  return link(setup.call, session, peer, setup.remote.overlay);
}

/**
 * Answers an incoming INVITE whose offer is `UDP/XPP` and sets up the session: the answer carries this
 * endpoint's description and the SYNs start as soon as the answer is sent (spec §4). An unusable offer, or one
 * this endpoint's security policy refuses, is answered 488. With `auth`, an offer whose `a=xpp-auth` is missing
 * or does not hold is answered 403 and rejects with `UNAUTHENTICATED`; `admit` then sees the verified id and may
 * refuse it (403, `FORBIDDEN`) — e.g. a peer that already has a link.
 */
export async function acceptXppCall(
  invite: IncomingInvite,
  endpoint: XppEndpoint,
  options: Pick<XppSignallingOptions, 'signal' | 'sdp'> &
    Pick<OpenOptions, 'onSession'> &
    XppCallAuthOptions & { readonly admit?: (peer: string) => boolean } = {},
): Promise<XppCall> {
  let offer: ParsedXppDescription;
  try {
    offer = parseSdp(invite.offerText, options.sdp);
  } catch (error) {
    invite.reject(488);
    throw error;
  }
  const { auth, overlay } = options;
  const callId = invite.request.headers.get('call-id') ?? '';
  let peer: string | undefined;
  try {
    peer = await checkOffer(endpoint, offer, {
      auth,
      overlay,
      callId,
      signal: options.signal,
      admit: options.admit,
    });
  } catch (error) {
    invite.reject(offerRefusalStatus(error));
    throw error;
  }
  const prepared = endpoint.prepare();
  let answer = withOverlay(prepared.description, overlay);
  try {
    if (auth !== undefined) answer = signDescription(auth, answer, callId, offer);
  } catch (error) {
    prepared.cancel();
    invite.reject(500);
    throw error;
  }
  const signal = options.signal === undefined ? {} : { signal: options.signal };
  const answered = invite.accept(
    { contentType: SDP_CONTENT_TYPE, body: buildSdp(answer, options.sdp) },
    signal,
  );
  // A caller that hangs up before its SYN (e.g. our answer did not authenticate) ends the setup at once,
  // instead of holding the ltag until SETUP_TIMEOUT.
  const hungUp = abortOnHangUp(answered);
  const setupSignal =
    options.signal === undefined ? hungUp.signal : AbortSignal.any([options.signal, hungUp.signal]);
  const opened = prepared.open(offer, openOptions({ ...options, signal: setupSignal }));
  const [call, session] = await Promise.allSettled([answered, opened]);
  hungUp.release();
  if (call.status === 'fulfilled' && session.status === 'fulfilled')
    return link(call.value, session.value, peer, offer.overlay);
  if (session.status === 'fulfilled') session.value.close();
  if (call.status === 'rejected') throw call.reason;
  const failure = (session as PromiseRejectedResult).reason as unknown;
  if (call.value.endReason === undefined) {
    void call.value.bye().catch(() => undefined);
    throw failure;
  }
  throw new SessionError('CLOSED', `the call ended (${call.value.endReason}) before the session opened`, {
    cause: failure,
  });
}

/**
 * A signal aborted when the call `answered` resolves with ends before `release()`. Its own function so that what
 * waits on the call's end (for the call's whole life) holds only the controller, and that only until the setup is
 * over — not the INVITE, the offer and the rest of acceptXppCall's scope (~3 KB per call, issue #16).
 */
function abortOnHangUp(answered: Promise<SipCall>): { readonly signal: AbortSignal; release(): void } {
  let controller: AbortController | undefined = new AbortController();
  const signal = controller.signal;
  void answered.then(
    (call) => void call.ended.then(() => controller?.abort()),
    () => undefined,
  );
  return {
    signal,
    release: () => {
      controller = undefined;
    },
  };
}

function openOptions(options: OpenOptions): OpenOptions {
  return {
    ...(options.signal === undefined ? {} : { signal: options.signal }),
    ...(options.onSession === undefined ? {} : { onSession: options.onSession }),
  };
}

/** Ties the lifetimes together: the peer's BYE closes the session; a session that ends sends BYE. */
function link(
  call: SipCall,
  session: XppSession,
  peer: string | undefined,
  overlay: Uint8Array | undefined,
): XppCall {
  void call.ended.then(() => session.close());
  session.on('close', () => {
    if (call.endReason === undefined) void call.bye().catch(() => undefined);
  });
  return {
    call,
    session,
    peer,
    overlay,
    async hangUp(options = {}) {
      session.close();
      await call.bye(options);
    },
  };
}
