import type { DigestAlgorithm } from '@xpp/dht';
import type { TransportAddress } from '@xpp/session-sdp';
import type { NonceIssuer } from './nonces.js';

/**
 * MD5 alone, as Kamailio and OpenSIPS challenge by default: sipp 3.6 reads only the first challenge and knows only
 * MD5, and libre-based softphones (baresip 1.0) give up on any 401 carrying a non-MD5 challenge, even after an MD5
 * one. `['SHA-256', 'MD5']` (RFC 8760 §2.4: in order of preference) is for deployments whose clients all cope.
 */
export const DEFAULT_DIGEST_ALGORITHMS: readonly DigestAlgorithm[] = Object.freeze(['MD5']);

/** Where a challenge goes: the registrar's 401 (`WWW-Authenticate`) or the proxy's 407 (`Proxy-Authenticate`). */
export type ChallengeHeader = 'WWW-Authenticate' | 'Proxy-Authenticate';

/**
 * One digest challenge per algorithm, in order of preference, sharing one nonce bound to the client's address
 * (RFC 7616 §3.3, RFC 3261 §22.3 for the proxy's). `stale` tells a client whose nonce merely aged to answer again
 * without asking its user.
 */
export function digestChallenges(init: {
  header: ChallengeHeader;
  realm: string;
  nonces: NonceIssuer;
  source: TransportAddress;
  stale: boolean;
  algorithms?: readonly DigestAlgorithm[] | undefined;
}): [string, string][] {
  const nonce = init.nonces.issue(init.source.address);
  return (init.algorithms ?? DEFAULT_DIGEST_ALGORITHMS).map((algorithm) => [
    init.header,
    `Digest realm="${init.realm}", nonce="${nonce}", algorithm=${algorithm}, qop="auth"${init.stale ? ', stale=true' : ''}`,
  ]);
}
