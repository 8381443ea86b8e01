import { SessionError } from '../errors.js';
import type { SipCall } from '../sip/call.js';
import type { IncomingInvite } from '../sip/incoming-invite.js';
import type { InviteOptions, SipUserAgent } from '../sip/user-agent.js';
import type { BuildSdpOptions, ParsedXppDescription, XppDescription } from './description.js';
import { buildSdp, parseSdp, type ParseSdpOptions } from './sdp.js';

/** The Content-Type of SDP bodies. */
export const SDP_CONTENT_TYPE = 'application/sdp';

/** An established SIP call and the peer's XPP description: all an endpoint needs to start sending SYNs. */
export interface XppCallSetup {
  readonly call: SipCall;
  readonly remote: ParsedXppDescription;
}

export interface XppSignallingOptions extends InviteOptions {
  readonly sdp?: BuildSdpOptions & ParseSdpOptions;
}

/**
 * Offers `local` in an INVITE to `uri` and reads the answer. An answer that is not a usable XPP description
 * is still ACKed (RFC 3261 requires it), then the call is ended with BYE and this rejects with `BAD_SDP`.
 */
export async function offerXppSession(
  ua: SipUserAgent,
  uri: string,
  local: XppDescription,
  options: XppSignallingOptions = {},
): Promise<XppCallSetup> {
  const call = await ua.invite(
    uri,
    { contentType: SDP_CONTENT_TYPE, body: buildSdp(local, options.sdp) },
    options,
  );
  try {
    return { call, remote: parseSdp(call.remoteText, options.sdp) };
  } catch (error) {
    void call.bye().catch(() => undefined);
    throw error;
  }
}

/**
 * Reads the offer of `invite` and accepts it with the description `answer(offer)` returns (it may throw
 * `SessionError` to refuse). A body that is not a usable XPP offer is answered 488 and rejects with `BAD_SDP`.
 */
export async function answerXppSession(
  invite: IncomingInvite,
  answer: (offer: ParsedXppDescription) => XppDescription,
  options: { signal?: AbortSignal; sdp?: BuildSdpOptions & ParseSdpOptions } = {},
): Promise<XppCallSetup> {
  let remote: ParsedXppDescription;
  let body: string;
  try {
    remote = parseSdp(invite.offerText, options.sdp);
    body = buildSdp(answer(remote), options.sdp);
  } catch (error) {
    invite.reject(488);
    throw SessionError.is(error) ? error : new SessionError('BAD_SDP', 'offer refused', { cause: error });
  }
  const call = await invite.accept(
    { contentType: SDP_CONTENT_TYPE, body },
    options.signal === undefined ? {} : { signal: options.signal },
  );
  return { call, remote };
}
