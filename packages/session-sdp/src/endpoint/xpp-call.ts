import { SessionError } from '../errors.js';
import type { ParsedXppDescription } from '../sdp/description.js';
import { buildSdp, parseSdp } from '../sdp/sdp.js';
import { offerXppSession, SDP_CONTENT_TYPE, type XppSignallingOptions } from '../sdp/signalling.js';
import type { SipCall } from '../sip/call.js';
import type { IncomingInvite, SipUserAgent } from '../sip/user-agent.js';
import type { OpenOptions, XppEndpoint } from './xpp-endpoint.js';
import type { XppSession } from './xpp-session.js';

/** An XPP session together with the SIP call (dialog) that set it up: a BYE either way ends both. */
export interface XppCall {
  readonly call: SipCall;
  readonly session: XppSession;
  /** Sends BYE and closes the session. */
  hangUp(options?: { signal?: AbortSignal }): Promise<void>;
}

/**
 * Sets up an XPP session by SIP alone (spec §4), as the offerer: INVITE to `uri` with this endpoint's
 * description, then SYN to every candidate of the answer. Rejects with the SIP failure (`SIP_REJECTED`,
 * `SIP_TIMEOUT`, `BAD_SDP`) or the setup failure (`SETUP_TIMEOUT`, `INSECURE_PEER`, `ABORTED`); a call whose
 * session failed is ended with BYE.
 */
export async function placeXppCall(
  ua: SipUserAgent,
  endpoint: XppEndpoint,
  uri: string,
  options: XppSignallingOptions & Pick<OpenOptions, 'onSession'> = {},
): Promise<XppCall> {
  const prepared = endpoint.prepare();
  let setup;
  try {
    setup = await offerXppSession(ua, uri, prepared.description, options);
  } catch (error) {
    prepared.cancel();
    throw error;
  }
  let session: XppSession;
  try {
    session = await prepared.open(setup.remote, openOptions(options));
  } catch (error) {
    void setup.call.bye().catch(() => undefined);
    throw error;
  }
  return link(setup.call, session);
}

/**
 * Answers an incoming INVITE whose offer is `UDP/XPP` and sets up the session: the answer carries this
 * endpoint's description and the SYNs start as soon as the answer is sent (spec §4). An unusable offer, or one
 * this endpoint's security policy refuses, is answered 488.
 */
export async function acceptXppCall(
  invite: IncomingInvite,
  endpoint: XppEndpoint,
  options: Pick<XppSignallingOptions, 'signal' | 'sdp'> & Pick<OpenOptions, 'onSession'> = {},
): Promise<XppCall> {
  let offer: ParsedXppDescription;
  try {
    offer = parseSdp(invite.offerText, options.sdp);
  } catch (error) {
    invite.reject(488);
    throw error;
  }
  if (!endpoint.accepts(offer)) {
    invite.reject(488);
    throw new SessionError('INSECURE_PEER', 'the offer has no a=xpp-key and this endpoint requires security');
  }
  const prepared = endpoint.prepare();
  const signal = options.signal === undefined ? {} : { signal: options.signal };
  const answered = invite.accept(
    { contentType: SDP_CONTENT_TYPE, body: buildSdp(prepared.description, options.sdp) },
    signal,
  );
  const opened = prepared.open(offer, openOptions(options));
  const [call, session] = await Promise.allSettled([answered, opened]);
  if (call.status === 'fulfilled' && session.status === 'fulfilled') return link(call.value, session.value);
  if (session.status === 'fulfilled') session.value.close();
  if (call.status === 'fulfilled') void call.value.bye().catch(() => undefined);
  throw call.status === 'rejected' ? call.reason : (session as PromiseRejectedResult).reason;
}

function openOptions(options: OpenOptions): OpenOptions {
  return {
    ...(options.signal === undefined ? {} : { signal: options.signal }),
    ...(options.onSession === undefined ? {} : { onSession: options.onSession }),
  };
}

/** Ties the lifetimes together: the peer's BYE closes the session; a session that ends sends BYE. */
function link(call: SipCall, session: XppSession): XppCall {
  void call.ended.then(() => session.close());
  session.on('close', () => {
    if (call.endReason === undefined) void call.bye().catch(() => undefined);
  });
  return {
    call,
    session,
    async hangUp(options = {}) {
      session.close();
      await call.bye(options);
    },
  };
}
