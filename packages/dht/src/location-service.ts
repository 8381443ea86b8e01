import type { KeyObject } from 'node:crypto';
import { WireError } from '@xpp/wire';
import { normaliseAor } from './aor.js';
import { systemClock, type Clock } from './clock.js';
import type { BindChange, BindResponse } from './bind-messages.js';
import type { DigestVerdict } from './bind-values.js';
import { encodeCredential, verifyCredential, type SignedCredential } from './credential.js';
import {
  decodeCredentialRecord,
  encodeCredentialRemoval,
  publicCredential,
  verifyCredentialRemoval,
  type CredentialRemoval,
  type PublicCredential,
} from './credential-record.js';
import { assertSupportedDigest, verifyDigest, type DigestResponseFields } from './digest.js';
import { DhtError } from './errors.js';
import { RecordKind } from './kinds.js';
import {
  bindingCodec,
  peerRecordCodec,
  type Binding,
  type BindingId,
  type PeerRecord,
  type WireRecord,
} from './values.js';

/** What the location service needs of an overlay node: its routed storage operations (`OverlayNode` has them). */
export interface LocationStorage {
  put(key: string, kind: RecordKind, value: Uint8Array, lifetime: number): Promise<number>;
  get(key: string, kind: RecordKind): Promise<WireRecord[]>;
  /** Without `bindingId` every record of `key` and `kind`; with it, that one binding. */
  remove(key: string, kind: RecordKind, bindingId?: BindingId): Promise<void>;
  /** REGISTER-BIND at the owner of `aor` (spec §5.6). Without it, {@link LocationService.registerBind} is refused. */
  registerBind?(aor: string, digest: DigestResponseFields, change: BindChange): Promise<BindResponse>;
  /** AUTHORIZE at the owner of `aor`. Without it, digests are checked here against a credential read whole. */
  authorize?(aor: string, digest: DigestResponseFields): Promise<DigestVerdict>;
}

/** What {@link LocationService.registerBind} answers: the verdict, and the seconds a stored binding got. */
export interface RegisterBindResult {
  readonly verdict: DigestVerdict;
  readonly expires?: number;
}

/** A user as read: its public view, and the whole credential where storage hands it out (verified). */
interface Known {
  readonly view: PublicCredential;
  readonly full?: SignedCredential;
}

/** A binding found by {@link LocationService.lookup}, with the seconds it has left. */
export interface RegisteredBinding extends Binding {
  readonly expires: number;
}

export type { DigestVerdict } from './bind-values.js';

export interface LocationServiceOptions {
  readonly storage: LocationStorage;
  /** Verifies every CREDENTIAL read from the overlay (spec §5): a peer never trusts an unsigned one. */
  readonly adminPublicKey: KeyObject;
  /** Monotonic time for the credential cache. Default {@link systemClock}. */
  readonly clock?: Pick<Clock, 'now'>;
  /** How long a verified credential (or its absence) is reused without a GET, ms. Default {@link DEFAULT_CREDENTIAL_CACHE_MS}. */
  readonly credentialCacheMs?: number;
  /** Credentials cached at most (least recently used go first). Default {@link DEFAULT_MAX_CACHED_CREDENTIALS}. */
  readonly maxCachedCredentials?: number;
}

/** How long a peer's PEER record (its SIP address) is reused without a GET, ms. */
export const DEFAULT_PEER_CACHE_MS = 60_000;
/** PEER records cached at most. */
export const MAX_CACHED_PEERS = 1_024;
/** A password change reaches every peer within this time (ms). */
export const DEFAULT_CREDENTIAL_CACHE_MS = 30_000;
export const DEFAULT_MAX_CACHED_CREDENTIALS = 10_000;
/** How long "no such user" is believed without a new GET, ms: short, so a user just added can register. */
export const UNKNOWN_USER_CACHE_MS = 1_000;
/**
 * A binding with this many seconds or fewer left is as good as gone: {@link LocationService.lookup} does not return
 * it, so a call is not routed to a contact that expires before the INVITE gets there.
 */
export const REMOVED_BINDING_LIFETIME = 1;

/** The key of a peer's PEER record: where the SIP address of the peer holding a flow is found. */
export function peerRecordKey(peerIdHex: string): string {
  return `peer:${peerIdHex}`;
}

/**
 * The SIP location service of spec §5–§6 over an overlay node's PUT / GET / REMOVE: bindings of an AOR (kind
 * BINDING, one value per instance id / reg-id or contact), signed credentials (kind CREDENTIAL, verified with the
 * administrator key on every read), digest verification against them, and the PEER records that say where a flow
 * peer is reached.
 */
export class LocationService {
  readonly #storage: LocationStorage;
  readonly #adminKey: KeyObject;
  readonly #clock: Pick<Clock, 'now'>;
  readonly #cacheMs: number;
  readonly #maxCached: number;
  /**
   * AOR → credential (or null: none stored), the stored octets it was verified from, and when it was read; Map
   * order is least recently used first.
   */
  readonly #credentials = new Map<string, { known: Known | null; raw?: Uint8Array; at: number }>();
  /** Peer id hex → its PEER record and when it was read (a proxy reads one per call otherwise). */
  readonly #peers = new Map<string, { record: PeerRecord; at: number }>();

  constructor(options: LocationServiceOptions) {
    this.#storage = options.storage;
    this.#adminKey = options.adminPublicKey;
    this.#clock = options.clock ?? systemClock;
    this.#cacheMs = options.credentialCacheMs ?? DEFAULT_CREDENTIAL_CACHE_MS;
    this.#maxCached = options.maxCachedCredentials ?? DEFAULT_MAX_CACHED_CREDENTIALS;
  }

  /**
   * REGISTER (spec §5.6): one routed round trip to the owner of `aor`, which checks the digest response against the
   * credential it holds and, when it holds, stores `binding` for `expires` seconds (its flow peer must be this
   * node) or, for `{ remove }`, removes one binding or all (`'*'`). HA1 never leaves the owner.
   */
  async registerBind(
    aor: string,
    digest: DigestResponseFields,
    change: Binding | { readonly remove: BindingId | '*' },
    expires: number,
  ): Promise<RegisterBindResult> {
    if (this.#storage.registerBind === undefined)
      throw new DhtError('INVALID_ARGUMENT', 'this storage has no REGISTER-BIND');
    assertSupportedDigest(digest);
    const bind: BindChange = 'remove' in change ? change : { binding: change, lifetime: expires };
    const answer = await this.#storage.registerBind(normaliseAor(aor), digest, bind);
    return answer.lifetime === undefined
      ? { verdict: answer.verdict }
      : { verdict: answer.verdict, expires: answer.lifetime };
  }

  /** AUTHORIZE: whether `digest` answers with `aor`'s secret (a 407 challenge of the SIP edge); yes or no only. */
  async authorize(aor: string, digest: DigestResponseFields): Promise<DigestVerdict> {
    return this.verifyDigest(aor, digest);
  }

  /**
   * Stores (or replaces: same instance id / reg-id, or same contact) one binding of `aor` for `expires` seconds,
   * with no digest check (tests, and peers that checked it themselves; with membership, only this node's flows).
   */
  async register(aor: string, binding: Binding, expires: number): Promise<number> {
    return this.#storage.put(normaliseAor(aor), RecordKind.BINDING, bindingCodec.encode(binding), expires);
  }

  /** The live bindings of `aor` (empty when none). Values that are not bindings are skipped. */
  async lookup(aor: string): Promise<RegisteredBinding[]> {
    const records = await this.#storage.get(normaliseAor(aor), RecordKind.BINDING);
    const out: RegisteredBinding[] = [];
    for (const record of records) {
      if (record.lifetime <= REMOVED_BINDING_LIFETIME) continue;
      try {
        out.push({ ...bindingCodec.decode(record.value), expires: record.lifetime });
      } catch {
        // The storing peer validated it; a value we cannot read is not a binding we can use.
      }
    }
    return out;
  }

  /** Removes one binding (same instance id / reg-id, or same contact), or every binding of `aor` without `bindingId`. */
  async unregister(aor: string, bindingId?: BindingId): Promise<void> {
    await this.#storage.remove(normaliseAor(aor), RecordKind.BINDING, bindingId);
  }

  /** Stores a credential signed by the administrator (checked here first, and again by the storing peer). */
  async putCredential(signed: SignedCredential, lifetime = 86_400): Promise<number> {
    const credential = verifyCredential(signed, this.#adminKey);
    const granted = await this.#storage.put(
      credential.aor,
      RecordKind.CREDENTIAL,
      encodeCredential(credential),
      lifetime,
    );
    this.#remember(credential.aor, { full: credential, view: publicCredential(credential) });
    return granted;
  }

  /**
   * Removes a user (`xpp-node user remove`): stores the administrator-signed tombstone, which holders keep at least
   * 30 days in place of the credential (spec §5.6).
   */
  async removeCredential(removal: CredentialRemoval): Promise<void> {
    verifyCredentialRemoval(removal, this.#adminKey);
    await this.#storage.put(removal.aor, RecordKind.CREDENTIAL, encodeCredentialRemoval(removal), 1);
    this.#credentials.delete(removal.aor);
  }

  /**
   * Who `aor` is (username, realm, serial) by its owner's public view (spec §5.6: a GET never returns HA1), or
   * undefined when the user is unknown or removed. A whole credential read from storage that holds one is verified
   * with the administrator key first (`BAD_SIGNATURE` / `INVALID_VALUE`); a public view is the owner's word.
   */
  async credential(aor: string): Promise<PublicCredential | undefined> {
    return (await this.#lookup(aor))?.view;
  }

  /**
   * The CREDENTIAL of `aor` as storage answers it, cached: the whole credential, verified, where storage hands it
   * out (not the overlay: its GET answers the public view), else the public view; undefined when unknown or removed.
   */
  async #lookup(aor: string): Promise<Known | undefined> {
    const key = normaliseAor(aor);
    const now = this.#clock.now();
    const cached = this.#credentials.get(key);
    const fresh = cached?.known === null ? UNKNOWN_USER_CACHE_MS : this.#cacheMs;
    if (cached !== undefined && now - cached.at < Math.min(fresh, this.#cacheMs)) {
      this.#credentials.delete(key);
      this.#credentials.set(key, cached);
      return cached.known ?? undefined;
    }
    const records = await this.#storage.get(key, RecordKind.CREDENTIAL);
    const value = records[0]?.value;
    // The octets verified last time, read again after the cache expired: the signature check would say the same.
    const unchanged =
      value !== undefined && cached?.raw !== undefined && Buffer.compare(value, cached.raw) === 0;
    const known =
      value === undefined ? undefined : unchanged ? (cached.known ?? undefined) : this.#read(value);
    if (known !== undefined && known.view.aor !== key) {
      throw new DhtError('CREDENTIAL_REFUSED', `credential for ${known.view.aor} stored under key ${key}`);
    }
    this.#remember(key, known, value);
    return known;
  }

  #read(value: Uint8Array): Known | undefined {
    let read;
    try {
      read = decodeCredentialRecord(value);
    } catch (cause) {
      if (!WireError.is(cause)) throw cause;
      throw new DhtError('INVALID_VALUE', `not a CREDENTIAL: ${cause.message}`, { cause });
    }
    if (read.type === 'removal') return undefined;
    if (read.type === 'public') return { view: read.view };
    const full = verifyCredential(read.credential, this.#adminKey);
    return { full, view: publicCredential(full) };
  }

  /**
   * Checks a digest response (RFC 7616, qop=auth) for `aor` against its overlay credential. Nonce freshness is the
   * registrar's. Throws `UNSUPPORTED_DIGEST` for an algorithm or qop this profile does not take.
   */
  async verifyDigest(aor: string, fields: DigestResponseFields): Promise<DigestVerdict> {
    if (this.#storage.authorize !== undefined) {
      assertSupportedDigest(fields);
      return this.#storage.authorize(normaliseAor(aor), fields);
    }
    const known = await this.#lookup(aor);
    if (known === undefined) return 'unknown-user';
    if (known.full === undefined)
      throw new DhtError('INVALID_ARGUMENT', 'this storage has no AUTHORIZE and answers no digest secret');
    return verifyDigest(known.full, fields) ? 'ok' : 'wrong-response';
  }

  /** Forgets cached credentials (after `user add`, or in tests). */
  forgetCredentials(): void {
    this.#credentials.clear();
  }

  /** Publishes where a peer is reached (its SIP URI): the PEER record other peers read to forward to its flows. */
  async announcePeer(peerIdHex: string, record: PeerRecord, lifetime: number): Promise<number> {
    return this.#storage.put(
      peerRecordKey(peerIdHex),
      RecordKind.PEER,
      peerRecordCodec.encode(record),
      lifetime,
    );
  }

  /** The PEER record of a peer, or undefined; found records are reused for {@link DEFAULT_PEER_CACHE_MS}. */
  async peer(peerIdHex: string): Promise<PeerRecord | undefined> {
    const now = this.#clock.now();
    const cached = this.#peers.get(peerIdHex);
    if (cached !== undefined && now - cached.at < DEFAULT_PEER_CACHE_MS) return cached.record;
    const records = await this.#storage.get(peerRecordKey(peerIdHex), RecordKind.PEER);
    const value = records[0]?.value;
    let record: PeerRecord | undefined;
    try {
      record = value === undefined ? undefined : peerRecordCodec.decode(value);
    } catch {
      record = undefined;
    }
    this.#peers.delete(peerIdHex);
    if (record === undefined) return undefined;
    this.#peers.set(peerIdHex, { record, at: now });
    for (const oldest of this.#peers.keys()) {
      if (this.#peers.size <= MAX_CACHED_PEERS) break;
      this.#peers.delete(oldest);
    }
    return record;
  }

  /** Forgets a cached PEER record (a forward to it failed: the peer may have moved or left). */
  forgetPeer(peerIdHex: string): void {
    this.#peers.delete(peerIdHex);
  }

  #remember(aor: string, known: Known | undefined, raw?: Uint8Array): void {
    this.#credentials.delete(aor);
    this.#credentials.set(aor, {
      known: known ?? null,
      ...(known === undefined || raw === undefined ? {} : { raw }),
      at: this.#clock.now(),
    });
    for (const oldest of this.#credentials.keys()) {
      if (this.#credentials.size <= this.#maxCached) break;
      this.#credentials.delete(oldest);
    }
  }
}
