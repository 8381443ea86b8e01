import { createResponse, statelessToTag, type ServerTransaction, type SipRequest } from '@xpp/session-sdp';
import { ALLOW, KNOWN_METHODS, type ProxyRejection } from '../proxy/rejections.js';
import { localTag } from './tags.js';
import { refuseUnsupported, SUPPORTED } from './extensions.js';

/**
 * A request for the node itself (no user part; host the domain or the node's address), answered as a UAS in the
 * order of RFC 3261 §8.2: the method (§8.2.1: one we do not know → 501 with `Allow`), then `Require` (§8.2.2.3 →
 * 420 with `Unsupported`), then OPTIONS → 200 with `Allow` and `Supported` (§11.2); any other method → 404 (no
 * such user). Max-Forwards is not looked at: the request goes no further (RFC 4475 §3.3.11 zeromf, "an endpoint
 * processes it as if Max-Forwards were still positive"). `count` records each refusal.
 */
export function answerAsServer(
  request: SipRequest,
  transaction: ServerTransaction | undefined,
  count: (why: ProxyRejection) => void,
): void {
  // Stateless (RFC 3261 §8.2.7) where the answer depends on the request alone: it holds no slot for Timer J, so a
  // flood of OPTIONS fills no table.
  const stateless = (status: number, headers: [string, string][]) =>
    transaction?.respondStateless(
      createResponse(request, status, { toTag: statelessToTag(request), headers }),
    );
  if (!KNOWN_METHODS.has(request.method)) {
    count('unknown-method');
    stateless(501, [['Allow', ALLOW]]);
    return;
  }
  if (refuseUnsupported(request, transaction, 'uas')) {
    count('bad-extension');
    return;
  }
  if (request.method === 'OPTIONS') {
    stateless(200, [
      ['Allow', ALLOW],
      ['Supported', SUPPORTED],
    ]);
    return;
  }
  count('not-found');
  transaction?.respond(createResponse(request, 404, { toTag: localTag() }));
}
