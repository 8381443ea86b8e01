import { randomBytes, sign, verify, type KeyObject } from 'node:crypto';
import { AdminKeySet } from '@xpp/dht';

/** What an admin request signature covers first, so it can never be taken for another signed object. */
export const ADMIN_REQUEST_LABEL = 'xpp-node admin-request v1';
/** How far a signed request's timestamp may be from the node's clock, ms (the spec's 300 s of clock skew). */
export const DEFAULT_ADMIN_WINDOW_MS = 300_000;
/** Request nonces remembered at most; beyond, requests are refused until old ones age out of the window. */
export const DEFAULT_ADMIN_NONCES = 10_000;

/** The JSON body of an admin request: the payload and a signature over it, its path, a timestamp and a nonce. */
export interface SignedAdminRequest {
  /**
   * The payload, hex (for `/admin/credentials`: a signed CREDENTIAL value; the other admin paths carry theirs in
   * the same field, named before they existed).
   */
  readonly credential: string;
  /** Unix time of signing, ms. */
  readonly timestamp: number;
  /** 16 random octets, hex: the request is taken once. */
  readonly nonce: string;
  /** Ed25519 signature by the administrator key, hex, over {@link adminSigningInput}. */
  readonly signature: string;
}

/** Why a signed admin request was refused, with the HTTP status it gets. */
export interface AdminRefusal {
  readonly status: number;
  readonly code: 'MALFORMED' | 'STALE' | 'BAD_SIGNATURE' | 'REPLAYED' | 'BUSY';
  readonly error: string;
}

/** The octets signed: label, path, timestamp, nonce and payload, one per line (none of them holds a newline). */
export function adminSigningInput(
  path: string,
  timestamp: number,
  nonce: string,
  payloadHex: string,
): Buffer {
  return Buffer.from(`${ADMIN_REQUEST_LABEL}\n${path}\n${timestamp}\n${nonce}\n${payloadHex}`, 'utf8');
}

/** Signs an admin request for `path` with the administrator's private key (`user add`). */
export function signAdminRequest(
  path: string,
  payloadHex: string,
  adminKey: KeyObject,
  now: number = Date.now(),
): SignedAdminRequest {
  const nonce = randomBytes(16).toString('hex');
  const signature = sign(null, adminSigningInput(path, now, nonce, payloadHex), adminKey).toString('hex');
  return { credential: payloadHex, timestamp: now, nonce, signature };
}

const HEX = /^([0-9a-fA-F]{2})+$/;

/**
 * Checks signed admin requests: signed by the administrator for this path, timestamped within the window, and
 * never seen before. The nonces of accepted requests are kept until their timestamp leaves the window (a replay
 * after that is stale anyway); the table is bounded, and when full a request is refused rather than an unexpired
 * nonce forgotten, since forgetting one would let its request be replayed.
 */
export class AdminRequestGuard {
  readonly #key: KeyObject | AdminKeySet;
  readonly #windowMs: number;
  readonly #max: number;
  readonly #now: () => number;
  /** nonce → when it may be forgotten (its timestamp + window), in insertion order. */
  readonly #seen = new Map<string, number>();

  /** `adminPublicKey`: one key, or the set of accepted administrator keys (any of them may sign). */
  constructor(
    adminPublicKey: KeyObject | AdminKeySet,
    options: { windowMs?: number; maxNonces?: number; now?: () => number } = {},
  ) {
    this.#key = adminPublicKey;
    this.#windowMs = options.windowMs ?? DEFAULT_ADMIN_WINDOW_MS;
    this.#max = options.maxNonces ?? DEFAULT_ADMIN_NONCES;
    this.#now = options.now ?? Date.now;
  }

  get remembered(): number {
    return this.#seen.size;
  }

  /** The payload octets of an acceptable request for `path`, or why it is refused. */
  check(path: string, body: unknown): Uint8Array | AdminRefusal {
    const request = body as Partial<Record<keyof SignedAdminRequest, unknown>> | null;
    const { credential, timestamp, nonce, signature } = request ?? {};
    if (
      typeof credential !== 'string' ||
      !HEX.test(credential) ||
      typeof timestamp !== 'number' ||
      !Number.isSafeInteger(timestamp) ||
      typeof nonce !== 'string' ||
      !/^[0-9a-f]{32}$/.test(nonce) ||
      typeof signature !== 'string' ||
      !/^[0-9a-fA-F]{128}$/.test(signature)
    )
      return refusal(
        400,
        'MALFORMED',
        'expected {"credential","timestamp","nonce","signature"} (xpp-node user add)',
      );
    const input = adminSigningInput(path, timestamp, nonce, credential);
    const octets = Buffer.from(signature, 'hex');
    const key = this.#key;
    const signed =
      key instanceof AdminKeySet
        ? key.verify(new Uint8Array(input), new Uint8Array(octets))
        : verify(null, input, key, octets);
    if (!signed) return refusal(403, 'BAD_SIGNATURE', 'request not signed by the administrator key');
    const now = this.#now();
    if (Math.abs(now - timestamp) > this.#windowMs)
      return refusal(
        401,
        'STALE',
        `request timestamp more than ${this.#windowMs / 1000} s from this node's clock`,
      );
    this.#forgetExpired(now);
    if (this.#seen.has(nonce)) return refusal(403, 'REPLAYED', 'request already taken (replayed)');
    if (this.#seen.size >= this.#max)
      return refusal(503, 'BUSY', 'too many admin requests in the replay window; retry later');
    this.#seen.set(nonce, timestamp + this.#windowMs);
    return new Uint8Array(Buffer.from(credential, 'hex'));
  }

  #forgetExpired(now: number): void {
    // Insertion order is close to expiry order (timestamps within one window), so the table is swept only when its
    // oldest entry has expired: cheap in the usual case, and an entry kept a little longer only refuses its own
    // replay for longer.
    const first = this.#seen.values().next();
    if (first.done === true || first.value >= now) return;
    for (const [nonce, until] of this.#seen) if (until < now) this.#seen.delete(nonce);
  }
}

function refusal(status: number, code: AdminRefusal['code'], error: string): AdminRefusal {
  return { status, code, error };
}
