import { createHmac, randomBytes } from 'node:crypto';
import type { SipRequest } from './message.js';
import { tagOf } from './name-addr.js';
import { branchOf, parseVia } from './via.js';

/** Keys the tags of this process's stateless answers: unguessable from outside, stable while the process runs. */
const TAG_KEY = randomBytes(16);

/**
 * The To tag of a response sent without a server transaction (RFC 3261 §8.2.7): the same for every retransmission
 * of one request, so the client sees one answer, yet random-looking to anyone else (an HMAC over the top Via
 * branch, Call-ID and From tag under a per-process key). 48 bits, as the node's other tags.
 */
export function statelessToTag(request: SipRequest): string {
  const via = parseVia(request.headers.get('via') ?? '');
  const fields = [
    (via === undefined ? undefined : branchOf(via)) ?? '',
    request.headers.get('call-id') ?? '',
    tagOf(request.headers.get('from')) ?? '',
  ];
  return createHmac('sha256', TAG_KEY).update(fields.join('\n')).digest('hex').slice(0, 12);
}
