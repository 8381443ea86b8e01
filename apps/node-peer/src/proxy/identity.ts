import {
  createOriginVerifier,
  normaliseAor,
  signOrigin,
  type AdminKeySet,
  type PeerCertificate,
  type PeerIdentity,
} from '@xpp/dht';
import type { SipRequest } from '@xpp/session-sdp';

/** The header a peer signs a caller's identity in for the next peer (docs/decisions/node-peer-asserted-identity.md). */
export const IDENTITY_HEADER = 'XPP-Identity';
/** An assertion whose date is further than this from the receiver's clock is refused (RFC 8224 §6.2.1's 60 s). */
export const DEFAULT_ASSERTION_WINDOW_S = 60;
/** Assertions remembered against replay; the oldest are forgotten first (counted). */
export const DEFAULT_MAX_REMEMBERED_ASSERTIONS = 100_000;

// Its own label inside the origin's: an assertion can never be taken for a REGISTER-BIND ORIGIN (which starts with a
// u16 operation code, not this text), nor the reverse.
const LABEL = 'xpp-sip identity v1';
const VALUE = /^([A-Za-z0-9_-]{1,4096});t=(\d{1,12})$/;

/** The result of checking a request's assertion; `absent` when it carries none. */
export type AssertionVerdict =
  | { readonly kind: 'verified'; readonly peer: string; readonly aor: string }
  | { readonly kind: 'absent' }
  | { readonly kind: 'malformed' | 'stale' | 'invalid' | 'revoked' | 'replayed' };

export interface IdentityAsserterOptions {
  readonly identity: PeerIdentity;
  readonly certificate: PeerCertificate;
  readonly admins: AdminKeySet;
  readonly domain: string;
  /** Wall clock, ms. */
  readonly clock: { wallNow(): number };
  /** Whether a certified peer is known to be revoked (a peer not known revoked is taken as valid). */
  readonly isRevoked?: (peerIdHex: string) => boolean | Promise<boolean>;
  readonly windowS?: number;
  readonly maxRemembered?: number;
}

/**
 * Signs and checks the caller assertion that travels between peers (RFC 8224's shape, this overlay's keys): the
 * sending peer's certificate and its identity key's signature over the From AOR, the To AOR, Call-ID, CSeq and a
 * date. The receiving peer believes it only when the certificate holds under the admin keys for the domain, its peer
 * is not known revoked, the signature holds, the date is within the window and the (Call-ID, CSeq) was not seen.
 */
export class IdentityAsserter {
  readonly #o: IdentityAsserterOptions;
  readonly #verify: (origin: Uint8Array, bytes: Uint8Array) => string;
  readonly #window: number;
  readonly #max: number;
  /** (Call-ID, CSeq) → the assertion's date, s; Map order is oldest first. */
  readonly #seen = new Map<string, number>();
  /** Assertions forgotten while still inside the window (the cache was full). */
  evicted = 0;

  constructor(options: IdentityAsserterOptions) {
    this.#o = options;
    this.#verify = createOriginVerifier({
      admins: options.admins,
      domain: options.domain,
      clock: options.clock,
    });
    this.#window = options.windowS ?? DEFAULT_ASSERTION_WINDOW_S;
    this.#max = options.maxRemembered ?? DEFAULT_MAX_REMEMBERED_ASSERTIONS;
  }

  /** The `XPP-Identity` value asserting `request`'s From AOR, as this peer forwards it now. */
  sign(request: SipRequest): string {
    const date = this.#now();
    const bytes = assertionBytes(request, date);
    if (bytes === undefined) throw new TypeError('the request has no From or To address-of-record');
    const origin = signOrigin(this.#o.identity, this.#o.certificate, bytes);
    return `${Buffer.from(origin).toString('base64url')};t=${date}`;
  }

  /** Checks the request's `XPP-Identity` (the first; more than one is malformed). */
  async verify(request: SipRequest): Promise<AssertionVerdict> {
    const values = request.headers.getAll(IDENTITY_HEADER);
    if (values.length === 0) return { kind: 'absent' };
    const match = values.length === 1 ? VALUE.exec(values[0]!.trim()) : null;
    if (match === null) return { kind: 'malformed' };
    const date = Number(match[2]);
    const now = this.#now();
    if (Math.abs(now - date) > this.#window) return { kind: 'stale' };
    const bytes = assertionBytes(request, date);
    if (bytes === undefined) return { kind: 'malformed' };
    let peer: string;
    try {
      peer = this.#verify(Buffer.from(match[1]!, 'base64url'), bytes);
    } catch {
      return { kind: 'invalid' };
    }
    if ((await this.#o.isRevoked?.(peer)) === true) return { kind: 'revoked' };
    const key = `${request.headers.get('call-id') ?? ''}\n${request.headers.get('cseq') ?? ''}`;
    this.#forget(now);
    if (this.#seen.has(key)) return { kind: 'replayed' };
    this.#seen.set(key, date);
    if (this.#seen.size > this.#max) {
      for (const oldest of this.#seen.keys()) {
        this.#seen.delete(oldest);
        this.evicted++;
        break;
      }
    }
    return { kind: 'verified', peer, aor: normaliseAor(request.headers.get('from') ?? '') };
  }

  /** Assertions remembered against replay. */
  get remembered(): number {
    return this.#seen.size;
  }

  /** Drops entries whose date left the window: a replay of one is refused as stale anyway. */
  #forget(now: number): void {
    for (const [key, date] of this.#seen) {
      if (now - date <= this.#window) break;
      this.#seen.delete(key);
    }
  }

  #now(): number {
    return Math.floor(this.#o.clock.wallNow() / 1000);
  }
}

/**
 * The octets an assertion signs: label, From AOR, To AOR, Call-ID, CSeq and the date, separated by LF (none of them
 * can contain one). Undefined when From or To is not an address-of-record.
 */
export function assertionBytes(request: SipRequest, date: number): Uint8Array | undefined {
  let from: string;
  let to: string;
  try {
    from = normaliseAor(request.headers.get('from') ?? '');
    to = normaliseAor(request.headers.get('to') ?? '');
  } catch {
    return undefined;
  }
  const fields = [
    LABEL,
    from,
    to,
    request.headers.get('call-id') ?? '',
    request.headers.get('cseq') ?? '',
    String(date),
  ];
  return new TextEncoder().encode(fields.join('\n'));
}

/** How a refused assertion is answered: 403 Stale Date and 438 Invalid Identity Header, as RFC 8224 §6.2.2 does. */
export function assertionRefusal(kind: Exclude<AssertionVerdict['kind'], 'verified' | 'absent'>): {
  status: number;
  why: 'identity-stale' | 'identity-replayed' | 'identity-invalid';
  reason: string;
} {
  if (kind === 'stale') return { status: 403, why: 'identity-stale', reason: 'Stale Date' };
  return {
    status: 438,
    why: kind === 'replayed' ? 'identity-replayed' : 'identity-invalid',
    reason: 'Invalid Identity Header',
  };
}

/** RFC 3325 §5: `request` without any P-Asserted-Identity or `XPP-Identity`, which are believed from nobody. */
export function withoutAssertions(request: SipRequest): SipRequest {
  if (!request.headers.has(IDENTITY_HEADER) && !request.headers.has('p-asserted-identity')) return request;
  return {
    ...request,
    headers: request.headers.clone().delete('p-asserted-identity').delete(IDENTITY_HEADER),
  };
}

/** The AOR a request's `XPP-Identity` asserts, or why it is refused (nothing is delivered on a bad assertion). */
export async function checkAssertion(
  asserter: IdentityAsserter | undefined,
  request: SipRequest,
): Promise<string | ReturnType<typeof assertionRefusal>> {
  const verdict = (await asserter?.verify(request)) ?? { kind: 'invalid' as const };
  if (verdict.kind === 'verified') return verdict.aor;
  return assertionRefusal(verdict.kind === 'absent' ? 'invalid' : verdict.kind);
}

/**
 * Marks a forwarded request with the caller this peer verified: `P-Asserted-Identity` for the callee (RFC 3325),
 * and, when it goes `toPeer`, the signed `XPP-Identity` the next peer checks before believing it (a next peer
 * strips the first).
 */
export function assertCaller(
  forwarded: SipRequest,
  aor: string,
  asserter: IdentityAsserter | undefined,
  toPeer: boolean,
): void {
  // RFC 3261 §22.3: the credentials for our realm were consumed here; the next hop has no use for them.
  forwarded.headers.delete('proxy-authorization');
  forwarded.headers.set('P-Asserted-Identity', `<${aor}>`);
  if (!toPeer || asserter === undefined) return;
  try {
    forwarded.headers.set(IDENTITY_HEADER, asserter.sign(forwarded));
  } catch {
    // No From/To address-of-record to sign over: the next peer takes the call as unasserted.
  }
}
