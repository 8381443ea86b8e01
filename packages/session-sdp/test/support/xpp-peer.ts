import {
  acceptXppCall,
  SipUserAgent,
  XppEndpoint,
  type IncomingInvite,
  type XppCall,
  type XppEndpointOptions,
} from '@xpp/session-sdp';

export interface XppPeerOptions {
  readonly endpoint?: XppEndpointOptions;
  /** How an INVITE is answered; default `acceptXppCall` with no options. */
  readonly accept?: (invite: IncomingInvite, endpoint: XppEndpoint) => Promise<XppCall>;
}

/**
 * An XPP endpoint and a SIP user agent on loopback UDP that answers every INVITE with `accept`; the calls it
 * answered (settled or not) are in `accepted`. Both are closed by `closers`.
 */
export async function xppPeer(
  closers: (() => unknown)[],
  options: XppPeerOptions = {},
): Promise<{ endpoint: XppEndpoint; ua: SipUserAgent; accepted: Promise<XppCall>[] }> {
  const endpoint = await XppEndpoint.bind(options.endpoint);
  const accept = options.accept ?? ((invite, on) => acceptXppCall(invite, on));
  const accepted: Promise<XppCall>[] = [];
  const ua = await SipUserAgent.listen({
    onInvite: (invite: IncomingInvite) => {
      const call = accept(invite, endpoint);
      // A refused call is looked at by the test that expects it, if any; never an unhandled rejection.
      call.catch(() => undefined);
      accepted.push(call);
    },
  });
  closers.push(
    () => endpoint.close(),
    () => ua.close(),
  );
  return { endpoint, ua, accepted };
}
