import {
  DhtError,
  normaliseAor,
  REMOVED_BINDING_LIFETIME,
  type Binding,
  type DigestAlgorithm,
  type DigestVerdict,
  type DigestResponseFields,
  type LocationService,
} from '@xpp/dht';
import type { Clock } from '@xpp/reliability';
import {
  createResponse,
  parseSipUri,
  type SipRequest,
  type SipResponse,
  type TransportAddress,
} from '@xpp/session-sdp';
import type { AuthFailureLimiter } from './auth-limiter.js';
import { parseDigestAuthorization } from './authorization.js';
import { digestChallenges } from './challenge.js';
import {
  DEFAULT_EXPIRY_BOUNDS,
  grantExpires,
  readRegisterContacts,
  type ExpiryBounds,
  type RegisterContact,
} from './contacts.js';
import { flowTimerFor, type FlowTable } from './flows.js';
import type { NonceIssuer } from './nonces.js';
import { localTag } from '../sip/tags.js';

export interface RegistrarOptions {
  /** The overlay's domain: the realm of challenges and the host part of every AOR served. */
  readonly domain: string;
  readonly location: LocationService;
  readonly flows: FlowTable;
  readonly nonces: NonceIssuer;
  /** Back-off of failed answers per (AOR, source address). */
  readonly limiter: AuthFailureLimiter;
  /** This peer's SIP address: a digest `uri` naming it names this registrar. */
  readonly local?: () => TransportAddress;
  /** This peer's id: the flow peer of the bindings it stores. */
  readonly peerId: Uint8Array;
  readonly clock: Clock;
  readonly expiry?: Partial<ExpiryBounds>;
  /** Challenges sent, in order of preference. Default {@link DEFAULT_DIGEST_ALGORITHMS}. */
  readonly digestAlgorithms?: readonly DigestAlgorithm[];
}

export { DEFAULT_DIGEST_ALGORITHMS } from './challenge.js';

/** How a REGISTER ended, for stats and events. */
export type RegisterResult =
  | 'registered'
  | 'queried'
  | 'challenged'
  | 'auth-failed'
  | 'auth-backoff'
  | 'forbidden'
  | 'bad-request'
  | 'too-brief'
  | 'overloaded'
  | 'overlay-error';

export interface RegisterOutcome {
  readonly response: SipResponse;
  readonly result: RegisterResult;
  readonly aor?: string;
  /** Bindings stored or refreshed, with the seconds granted. */
  readonly bound: readonly { contact: RegisterContact; expires: number }[];
  /** Contacts removed (`Expires: 0`, or every one with `*`). */
  readonly removed: readonly string[];
}

/**
 * RFC 3261 §10.3 registrar with RFC 7616 digest (SHA-256 and MD5) against the overlay's signed credentials and
 * RFC 5626 Outbound bindings stored in the overlay (see docs/decisions/node-peer-registrar.md). This peer checks the
 * nonce it issued; the AOR's owner checks the response against the credential and stores the binding in the same
 * step (REGISTER-BIND, spec §5.6: one routed round trip, HA1 never leaves its holders); a query is AUTHORIZEd. No
 * I/O of its own: it goes through the location service and returns the response to send.
 */
export class Registrar {
  readonly #o: RegistrarOptions;
  readonly #bounds: ExpiryBounds;

  constructor(options: RegistrarOptions) {
    this.#o = options;
    this.#bounds = { ...DEFAULT_EXPIRY_BOUNDS, ...options.expiry };
  }

  get bounds(): ExpiryBounds {
    return this.#bounds;
  }

  async handle(request: SipRequest, source: TransportAddress): Promise<RegisterOutcome> {
    const answer = (
      status: number,
      result: RegisterResult,
      headers: [string, string][] = [],
      reason?: string,
    ): RegisterOutcome => ({
      response: createResponse(request, status, {
        toTag: localTag(),
        headers,
        ...(reason === undefined ? {} : { reason }),
      }),
      result,
      bound: [],
      removed: [],
    });
    let aor: string;
    try {
      aor = normaliseAor(request.headers.get('to') ?? '');
    } catch {
      return answer(400, 'bad-request', [], 'Bad Request - To is not an address-of-record');
    }
    if (parseSipUri(aor)?.host !== this.#o.domain.toLowerCase())
      return answer(403, 'forbidden', [], 'Forbidden - domain not served here');
    const contacts = readRegisterContacts(request);
    if (contacts.type === 'invalid')
      return answer(400, 'bad-request', [], `Bad Request - ${contacts.reason}`);

    const authorization = request.headers.get('authorization');
    const credentials = authorization === undefined ? undefined : parseDigestAuthorization(authorization);
    if (credentials === undefined || credentials.realm !== this.#o.domain)
      return answer(401, 'challenged', this.#challenge(false, source));
    // RFC 2617 §3.2.2.5: the digest covers the uri the client names, which must name what this request does: a
    // response computed for another resource is not an answer to this request.
    if (!digestUriNames(credentials.uri, request.uri, this.#o.local?.()))
      return answer(400, 'bad-request', [], 'Bad Request - digest uri does not match the Request-URI');
    const nonce = this.#o.nonces.check(credentials.nonce, credentials.nc, source.address);
    if (nonce !== 'ok') return answer(401, 'challenged', this.#challenge(nonce === 'stale', source));
    const now = this.#o.clock.now();
    const wait = this.#o.limiter.waitMs(aor, source.address, now);
    if (wait > 0)
      return answer(
        403,
        'auth-backoff',
        [['Retry-After', String(Math.ceil(wait / 1000))]],
        'Forbidden - too many failed attempts from this address, retry later',
      );
    const fields: DigestResponseFields = { ...credentials, method: request.method };
    const failed = (): RegisterOutcome => {
      // Spec §6: an unknown user and a wrong password get the same fresh challenge, limited the same way.
      this.#o.limiter.failed(aor, source.address, this.#o.clock.now());
      return answer(401, 'auth-failed', this.#challenge(false, source));
    };
    /**
     * Called once the owner said the response holds: the nonce count is recorded only now, so a wrong answer never
     * uses up a client's counts. With REGISTER-BIND the owner stored the change in the same step (spec §5.6), so a
     * count raced by a retransmission is refused after the fact; the request was a valid one either way.
     */
    const accepted = (): RegisterOutcome | undefined => {
      const recorded = this.#o.nonces.record(credentials.nonce, credentials.nc as string);
      if (recorded !== 'ok') return answer(401, 'challenged', this.#challenge(recorded === 'stale', source));
      this.#o.limiter.succeeded(aor, source.address);
      return undefined;
    };

    const bound: { contact: RegisterContact; expires: number }[] = [];
    const removed: string[] = [];
    // Whether this peer already held a flow of the AOR: then its 200 lists the bindings it holds instead of reading
    // them back from the overlay (docs/decisions/node-peer-register-throughput.md).
    const heldBefore = this.#o.flows.hasAor(aor);
    const location = this.#o.location;
    let authorized = false;
    /** The verdict of the owner, recorded once (the first change or the AUTHORIZE of a query). */
    const judge = (verdict: DigestVerdict): RegisterOutcome | undefined => {
      if (authorized) return verdict === 'ok' ? undefined : failed();
      if (verdict !== 'ok') return failed();
      authorized = true;
      return accepted();
    };
    try {
      if (contacts.type === 'remove-all') {
        const refused = judge((await location.registerBind(aor, fields, { remove: '*' }, 0)).verdict);
        if (refused !== undefined) return refused;
        for (const flow of this.#o.flows.ofAor(aor)) {
          this.#o.flows.delete(aor, flow.binding);
          removed.push(flow.binding.contact);
        }
      } else if (contacts.type === 'bind') {
        const granted = contacts.contacts.map((c) => grantExpires(c.expires, this.#bounds));
        if (granted.includes('too-brief')) {
          const refused = judge(await location.authorize(aor, fields));
          return refused ?? answer(423, 'too-brief', [['Min-Expires', String(this.#bounds.minExpires)]]);
        }
        for (const [i, contact] of contacts.contacts.entries()) {
          const expires = granted[i] as number;
          const binding: Binding = {
            instanceId: contact.instanceId,
            regId: contact.regId,
            contact: contact.uri,
            flowPeer: this.#o.peerId,
            ...(contact.q === undefined ? {} : { q: contact.q }),
          };
          if (expires === 0) {
            const refused = judge((await location.registerBind(aor, fields, { remove: binding }, 0)).verdict);
            if (refused !== undefined) return refused;
            this.#o.flows.delete(aor, binding);
            removed.push(contact.uri);
            continue;
          }
          // Checked before the owner is asked: a full flow table must not store a binding nobody can reach.
          if (!this.#o.flows.hasRoom(aor, binding))
            return answer(503, 'overloaded', [['Retry-After', '30']], 'Service Unavailable - too many flows');
          const result = await location.registerBind(aor, fields, binding, expires);
          const refused = judge(result.verdict);
          if (refused !== undefined) return refused;
          const stored = result.expires ?? expires;
          this.#o.flows.set(
            { aor, binding, source, expiresAt: now + stored * 1000, xppPeer: contact.xppPeer },
            now,
          );
          bound.push({ contact, expires: stored });
        }
      } else {
        const refused = judge(await location.authorize(aor, fields));
        if (refused !== undefined) return refused;
      }
      const current =
        contacts.type === 'remove-all'
          ? []
          : contacts.type === 'bind' && heldBefore
            ? this.#heldBindings(aor, now)
            : await location.lookup(aor);
      const headers: [string, string][] = current.map((b) => [
        'Contact',
        `<${b.contact}>;expires=${b.expires}`,
      ]);
      // RFC 5626 §5.4: an Outbound registration learns how often to keep its flow alive.
      if (bound.some((b) => b.contact.regId !== 0))
        headers.push(['Require', 'outbound'], ['Flow-Timer', String(flowTimerFor(source))]);
      const outcome = answer(200, contacts.type === 'query' ? 'queried' : 'registered', headers);
      return { ...outcome, aor, bound, removed };
    } catch (error) {
      if (DhtError.is(error, 'UNSUPPORTED_DIGEST'))
        return answer(401, 'challenged', this.#challenge(false, source));
      return this.#overlayFailure(error, answer);
    }
  }

  /**
   * The bindings of `aor` whose flows this peer holds, with the seconds they have left: what a refresh's 200 lists
   * without reading the AOR back from the overlay. Bindings stored through other peers are listed by the 200 of a
   * first REGISTER here and of a query.
   */
  #heldBindings(aor: string, now: number): { contact: string; expires: number }[] {
    const held: { contact: string; expires: number }[] = [];
    for (const flow of this.#o.flows.ofAor(aor)) {
      const expires = Math.floor((flow.expiresAt - now) / 1000);
      if (expires > REMOVED_BINDING_LIFETIME) held.push({ contact: flow.binding.contact, expires });
    }
    return held;
  }

  #challenge(stale: boolean, source: TransportAddress): [string, string][] {
    return digestChallenges({
      header: 'WWW-Authenticate',
      realm: this.#o.domain,
      nonces: this.#o.nonces,
      source,
      stale,
      algorithms: this.#o.digestAlgorithms,
    });
  }

  #overlayFailure(
    error: unknown,
    answer: (
      status: number,
      result: RegisterResult,
      headers?: [string, string][],
      reason?: string,
    ) => RegisterOutcome,
  ): RegisterOutcome {
    if (DhtError.is(error) && error.status === 503)
      return answer(503, 'overloaded', [['Retry-After', '30']], `Service Unavailable - ${error.code}`);
    if (DhtError.is(error, 'INVALID_AOR') || DhtError.is(error, 'INVALID_VALUE'))
      return answer(400, 'bad-request', [], `Bad Request - ${error.code}`);
    return answer(
      500,
      'overlay-error',
      [['Retry-After', '5']],
      'Server Internal Error - overlay unavailable',
    );
  }
}

/**
 * Whether a digest `uri` names a request's target: the Request-URI itself, or this peer's own SIP address `local`,
 * which stock clients put there (sipp uses `sip:ip:port` of the server it sends to, for REGISTER and INVITE alike).
 * The response still covers the method and a nonce bound to the client's address and count.
 */
export function digestUriNames(
  digestUri: string,
  requestUri: string,
  local: TransportAddress | undefined,
): boolean {
  if (sameRequestUri(digestUri, requestUri)) return true;
  const named = parseSipUri(digestUri);
  return (
    local !== undefined &&
    named !== undefined &&
    named.user === undefined &&
    named.host.toLowerCase() === local.address.toLowerCase() &&
    (named.port ?? 5060) === local.port
  );
}

/**
 * Whether the digest `uri` names the Request-URI: the same text, or the same SIP URI once parsed (host case,
 * parameter order). Anything that does not parse must match exactly.
 */
function sameRequestUri(digestUri: string, requestUri: string): boolean {
  if (digestUri === requestUri) return true;
  const a = parseSipUri(digestUri);
  const b = parseSipUri(requestUri);
  if (a === undefined || b === undefined) return false;
  const params = (p: ReadonlyMap<string, string | null>) =>
    [...p]
      .map(([k, v]) => `${k.toLowerCase()}=${v ?? ''}`)
      .sort()
      .join(';');
  return (
    a.scheme === b.scheme &&
    a.user === b.user &&
    a.host.toLowerCase() === b.host.toLowerCase() &&
    (a.port ?? 5060) === (b.port ?? 5060) &&
    params(a.params) === params(b.params)
  );
}
