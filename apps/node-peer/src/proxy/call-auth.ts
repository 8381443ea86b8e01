import { DhtError, normaliseAor, type DigestAlgorithm, type LocationService } from '@xpp/dht';
import type { Clock } from '@xpp/reliability';
import { parseSipUri, type SipRequest, type TransportAddress } from '@xpp/session-sdp';
import type { AuthFailureLimiter } from '../registrar/auth-limiter.js';
import { parseDigestAuthorization } from '../registrar/authorization.js';
import { digestChallenges } from '../registrar/challenge.js';
import type { NonceIssuer } from '../registrar/nonces.js';
import { digestUriNames } from '../registrar/registrar.js';

/** Requests that start something on a user's behalf: a client of this peer must prove who it is (RFC 3261 §22.3). */
export const CHALLENGED_METHODS: ReadonlySet<string> = new Set(['INVITE', 'MESSAGE', 'SUBSCRIBE']);

/** How a call's Proxy-Authorization was judged; anything but `ok` is answered with the status and headers given. */
export type CallAuthVerdict =
  | { readonly kind: 'ok' }
  | {
      readonly kind: 'challenged' | 'auth-failed' | 'auth-backoff' | 'bad-request' | 'overloaded';
      readonly status: number;
      readonly headers: [string, string][];
      readonly reason?: string;
    };

export interface CallAuthOptions {
  readonly domain: string;
  readonly location: LocationService;
  /** The registrar's nonces (bound to the source address), so one issuer tracks every count this peer accepted. */
  readonly nonces: NonceIssuer;
  /** The registrar's back-off per (AOR, source address): a password guessed by INVITE waits as one by REGISTER. */
  readonly limiter: AuthFailureLimiter;
  readonly clock: Clock;
  /** This peer's SIP address: a digest `uri` naming it is accepted as the registrar accepts it (sipp sends that). */
  readonly local?: () => TransportAddress;
  readonly digestAlgorithms?: readonly DigestAlgorithm[];
}

/**
 * The proxy's 407 path (docs/decisions/node-peer-asserted-identity.md): the same digest, nonces and back-off as the
 * registrar's 401, with the response checked by AUTHORIZE at the owner of the caller's AOR (spec §5.6), so the HA1
 * never leaves its holders. Unknown user and wrong password get the same fresh 407 and count alike.
 */
export class CallAuthenticator {
  readonly #o: CallAuthOptions;

  constructor(options: CallAuthOptions) {
    this.#o = options;
  }

  /** Whether `request` from `source` proves it is `aor`'s (the caller's From AOR). */
  async check(request: SipRequest, source: TransportAddress, aor: string): Promise<CallAuthVerdict> {
    const value = request.headers.get('proxy-authorization');
    const credentials = value === undefined ? undefined : parseDigestAuthorization(value);
    if (credentials === undefined || credentials.realm !== this.#o.domain)
      return this.#challenge(source, false);
    // RFC 2617 §3.2.2.5: a response computed for another resource is not an answer to this request.
    if (!digestUriNames(credentials.uri, request.uri, this.#o.local?.()))
      return {
        kind: 'bad-request',
        status: 400,
        headers: [],
        reason: 'Bad Request - digest uri does not match the Request-URI',
      };
    const nonce = this.#o.nonces.check(credentials.nonce, credentials.nc, source.address);
    if (nonce !== 'ok') return this.#challenge(source, nonce === 'stale');
    const limiter = this.#o.limiter;
    const wait = limiter.waitMs(aor, source.address, this.#o.clock.now());
    if (wait > 0)
      return {
        kind: 'auth-backoff',
        status: 403,
        headers: [['Retry-After', String(Math.ceil(wait / 1000))]],
        reason: 'Forbidden - too many failed attempts from this address, retry later',
      };
    let verdict;
    try {
      verdict = await this.#o.location.authorize(aor, { ...credentials, method: request.method });
    } catch (error) {
      if (DhtError.is(error, 'UNSUPPORTED_DIGEST') || DhtError.is(error, 'INVALID_AOR'))
        return this.#challenge(source, false);
      return { kind: 'overloaded', status: 503, headers: [['Retry-After', '5']] };
    }
    if (verdict !== 'ok') {
      limiter.failed(aor, source.address, this.#o.clock.now());
      return this.#challenge(source, false, 'auth-failed');
    }
    // Recorded only once the owner said the response holds: a wrong answer never uses up a client's counts.
    const recorded = this.#o.nonces.record(credentials.nonce, credentials.nc as string);
    if (recorded !== 'ok') return this.#challenge(source, recorded === 'stale');
    limiter.succeeded(aor, source.address);
    return { kind: 'ok' };
  }

  #challenge(
    source: TransportAddress,
    stale: boolean,
    kind: 'challenged' | 'auth-failed' = 'challenged',
  ): CallAuthVerdict {
    return {
      kind,
      status: 407,
      headers: digestChallenges({
        header: 'Proxy-Authenticate',
        realm: this.#o.domain,
        nonces: this.#o.nonces,
        source,
        stale,
        algorithms: this.#o.digestAlgorithms,
      }),
    };
  }
}

/**
 * The caller a request must prove (RFC 3261 §22.3), or undefined: INVITE, MESSAGE or SUBSCRIBE out of any dialog
 * whose From is a user of `domain`. CANCEL, ACK and in-dialog requests are never challenged; callers of other
 * domains reach local users unasserted.
 */
export function callerToChallenge(request: SipRequest, domain: string): string | undefined {
  if (!CHALLENGED_METHODS.has(request.method)) return undefined;
  if (/;\s*tag=/i.test(request.headers.get('to') ?? '')) return undefined;
  try {
    const aor = normaliseAor(request.headers.get('from') ?? '');
    return parseSipUri(aor)?.host === domain.toLowerCase() ? aor : undefined;
  } catch {
    return undefined;
  }
}
