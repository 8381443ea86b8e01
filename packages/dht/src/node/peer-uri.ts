import { parseNameAddr, parseSipUri } from '@xpp/session-sdp';

/**
 * The peer id hex in the user part of a From header (`<sip:<id>@host:port>;tag=…`): a node's SIP user is its peer
 * id, so an INVITE names the peer that calls.
 */
export function peerFromUri(from: string | undefined): string | undefined {
  const uri = from === undefined ? undefined : parseNameAddr(from)?.uri;
  const user = uri === undefined ? undefined : parseSipUri(uri)?.user;
  return user !== undefined && /^[0-9a-f]{2,64}$/.test(user) ? user : undefined;
}
