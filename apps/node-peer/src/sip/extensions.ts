import {
  createResponse,
  statelessToTag,
  type ServerTransaction,
  type SipRequest,
  type SipResponse,
} from '@xpp/session-sdp';

/**
 * The SIP option tags this node implements (docs/decisions/node-peer-proxy.md, "Extensions"): only RFC 5626
 * `outbound` (flow tokens, reg-id bindings, keepalives, 430 on a dead flow). Not `path` (RFC 3327: Path headers are
 * not stored), `gruu`, `100rel`, `timer` or any other: a request that requires one of those from us gets 420.
 */
export const SUPPORTED_OPTION_TAGS: readonly string[] = ['outbound'];

/** The `Supported` header value of our own answers (RFC 3261 §20.37). */
export const SUPPORTED = SUPPORTED_OPTION_TAGS.join(', ');

/**
 * Who checks which header (RFC 4475 §3.3.5 bext01: "depending on the role"): as a UAS (REGISTER, a request for
 * the server itself) `Require` (RFC 3261 §8.2.2.3, §10.3 step 2); as a proxy `Proxy-Require` (§16.3 step 5) —
 * `Require` of a request we forward is for the UAS at the far end and is not ours to judge.
 */
export type ExtensionRole = 'uas' | 'proxy';

/**
 * The option tags of `request`'s `Require` (role `uas`) or `Proxy-Require` (role `proxy`) that this node does not
 * implement, in the order given, each once. Empty for ACK and CANCEL, whose Require and Proxy-Require must be
 * ignored (RFC 3261 §8.2.2.3). Tags compare case-insensitively (RFC 3261 §7.3.1: tokens).
 */
export function unsupportedOptions(request: SipRequest, role: ExtensionRole): string[] {
  if (request.method === 'ACK' || request.method === 'CANCEL') return [];
  const supported = new Set(SUPPORTED_OPTION_TAGS);
  const unsupported = new Map<string, string>();
  for (const line of request.headers.getAll(role === 'uas' ? 'require' : 'proxy-require'))
    for (const tag of line.split(',').map((t) => t.trim())) {
      const key = tag.toLowerCase();
      if (tag !== '' && !supported.has(key) && !unsupported.has(key)) unsupported.set(key, tag);
    }
  return [...unsupported.values()];
}

/**
 * 420 Bad Extension listing `unsupported` in `Unsupported` (RFC 3261 §8.2.2.3, §16.3 step 5). It depends on the
 * request alone, so it is answered statelessly (RFC 3261 §8.2.7): a retransmission simply gets it again.
 */
export function badExtension(request: SipRequest, unsupported: readonly string[]): SipResponse {
  return createResponse(request, 420, {
    toTag: statelessToTag(request),
    headers: [['Unsupported', unsupported.join(', ')]],
  });
}

/**
 * Answers 420 when `request` requires, of this node in `role`, an option it does not implement; false when it
 * requires nothing we lack (the request goes on). `transaction` undefined (an ACK): nothing to answer.
 */
export function refuseUnsupported(
  request: SipRequest,
  transaction: ServerTransaction | undefined,
  role: ExtensionRole,
): boolean {
  const unsupported = unsupportedOptions(request, role);
  if (unsupported.length === 0 || transaction === undefined) return false;
  transaction.respondStateless(badExtension(request, unsupported));
  return true;
}
