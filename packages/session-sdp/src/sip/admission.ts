import type { TransportAddress } from '../sdp/description.js';
import type { SipRequest } from './message.js';
import { tagOf } from './name-addr.js';

/**
 * What a new server transaction is counted as. `register`, `invite` and `dialog` (requests within a dialog, and
 * CANCEL, which belongs to an INVITE) are the priority classes: each has its own per-source and per-address
 * counts, so a flood of one class (or of `other`: OPTIONS, MESSAGE, unknown methods outside a dialog) from a
 * client's own address:port never takes the slots of another class.
 */
export type AdmissionClass = 'register' | 'invite' | 'dialog' | 'other';

/**
 * Why a request was refused 503:
 * - `source`: its address:port holds its class's per-source share;
 * - `address`: its IP address (all ports; never a loopback address) holds the class's per-address share;
 * - `reserved`: only the capacity kept for the priority classes is left (an `other` request);
 * - `class`: a priority class alone holds all but the reserve (left for the other priority classes);
 * - `total`: the table holds `total` server transactions.
 */
export type AdmissionRefusal = 'source' | 'address' | 'reserved' | 'class' | 'total';

/** A held slot: released once, when its transaction ends (a second call does nothing). */
export interface AdmissionTicket {
  release(): void;
}

export type AdmissionResult =
  | { readonly admitted: true; readonly ticket: AdmissionTicket }
  | { readonly admitted: false; readonly reason: AdmissionRefusal; readonly retryAfterS: number };

/** Decides whether a new request may open a server transaction (the transaction layer asks it for each). */
export interface TransactionAdmissionPolicy {
  admit(request: SipRequest, source: TransportAddress): AdmissionResult;
}

export interface ServerTransactionLimits {
  /** Server transactions held at once, all sources and classes. */
  readonly total: number;
  /** Of {@link total}, the slots only priority classes may take; also what each priority class leaves the others. */
  readonly reserved: number;
  /** Per source address:port, for each priority class. */
  readonly perSource: number;
  /** Per IP address (every port of it), for each priority class. */
  readonly perAddress: number;
  /** Per source address:port, for `other` requests. */
  readonly otherPerSource: number;
  /** Per IP address, for `other` requests. */
  readonly otherPerAddress: number;
  /** The refusal's `Retry-After`, seconds (RFC 3261 §21.5.4). */
  readonly retryAfterS: number;
}

/**
 * Defaults, sized by memory (docs/decisions/node-peer-proxy.md, "Overload"). A non-INVITE server transaction of a
 * 600-octet request, answered and waiting out Timer J, measured 3.9 KiB of heap (request parsed, response bytes,
 * timers, table entries); with a 4 KB request 7.3 KiB. 16 384 ordinary ones take ≈ 64 MiB. The worst case, long
 * headers that every response copies (Via, From, To) up to the codec's 16 KiB, is ≈ 36 KiB a slot, ≈ 576 MiB for a
 * full table: reaching it takes at least 12 source addresses (`other` requests stop at 1 024 per address and at
 * `total - reserved`). Per source, a priority class may hold 1 024 (another peer forwards many clients' requests
 * from one port); per address 4 096 (clients behind one NAT); `other` requests 128 per source, 1 024 per address.
 */
export const DEFAULT_SERVER_TRANSACTION_LIMITS: ServerTransactionLimits = {
  total: 16_384,
  reserved: 4_096,
  perSource: 1_024,
  perAddress: 4_096,
  otherPerSource: 128,
  otherPerAddress: 1_024,
  retryAfterS: 5,
};

/** The class a request is counted in (see {@link AdmissionClass}). */
export function admissionClassOf(request: SipRequest): AdmissionClass {
  if (request.method === 'CANCEL' || tagOf(request.headers.get('to')) !== undefined) return 'dialog';
  if (request.method === 'REGISTER') return 'register';
  if (request.method === 'INVITE') return 'invite';
  return 'other';
}

/**
 * Loopback sources are each their own client (tests, a local softphone and a local proxy share 127.0.0.1), so the
 * per-address share does not apply to them.
 */
export function isLoopback(address: string): boolean {
  const v4 = address.startsWith('::ffff:') ? address.slice(7) : address;
  return v4.startsWith('127.') || address === '::1';
}

/**
 * Bounds server transactions per source address:port, per IP address and in total, keeping a reserve and separate
 * shares for REGISTER, INVITE and in-dialog requests (docs/decisions/node-peer-proxy.md, "Overload"). Pure
 * bookkeeping: no sockets, no timers; the layer releases each ticket when its transaction ends.
 */
export class TransactionAdmission implements TransactionAdmissionPolicy {
  readonly limits: ServerTransactionLimits;
  /** Live slots by `class|s|address|port` and `class|a|address`; a key leaves at zero. */
  readonly #counts = new Map<string, number>();
  readonly #byClass: Record<AdmissionClass, number> = { register: 0, invite: 0, dialog: 0, other: 0 };
  #live = 0;

  constructor(limits: Partial<ServerTransactionLimits> = {}) {
    const merged = { ...DEFAULT_SERVER_TRANSACTION_LIMITS, ...limits };
    for (const [name, value] of Object.entries(merged)) {
      if (!Number.isInteger(value) || value < 0)
        throw new RangeError(`${name} must be a non-negative integer`);
    }
    if (merged.reserved > merged.total) throw new RangeError('reserved must not exceed total');
    this.limits = merged;
  }

  /** Slots held now. */
  get live(): number {
    return this.#live;
  }

  /** Slots held now by one class. */
  held(cls: AdmissionClass): number {
    return this.#byClass[cls];
  }

  admit(request: SipRequest, source: TransportAddress): AdmissionResult {
    const cls = admissionClassOf(request);
    const refusal = this.#refusal(cls, source);
    if (refusal !== undefined)
      return { admitted: false, reason: refusal, retryAfterS: this.limits.retryAfterS };
    const keys = this.#keys(cls, source);
    for (const key of keys) this.#counts.set(key, (this.#counts.get(key) ?? 0) + 1);
    this.#byClass[cls]++;
    this.#live++;
    let held = true;
    return {
      admitted: true,
      ticket: {
        release: () => {
          if (!held) return;
          held = false;
          for (const key of keys) {
            const left = (this.#counts.get(key) ?? 1) - 1;
            if (left === 0) this.#counts.delete(key);
            else this.#counts.set(key, left);
          }
          this.#byClass[cls]--;
          this.#live--;
        },
      },
    };
  }

  #refusal(cls: AdmissionClass, source: TransportAddress): AdmissionRefusal | undefined {
    const { total, reserved } = this.limits;
    const other = cls === 'other';
    if (other && this.#live >= total - reserved) return 'reserved';
    if (!other && this.#live >= total) return 'total';
    if (!other && this.#byClass[cls] >= total - reserved) return 'class';
    const [bySource, byAddress] = this.#keys(cls, source);
    if (
      (this.#counts.get(bySource as string) ?? 0) >=
      (other ? this.limits.otherPerSource : this.limits.perSource)
    )
      return 'source';
    if (
      byAddress !== undefined &&
      (this.#counts.get(byAddress) ?? 0) >= (other ? this.limits.otherPerAddress : this.limits.perAddress)
    )
      return 'address';
    return undefined;
  }

  #keys(cls: AdmissionClass, source: TransportAddress): string[] {
    const bySource = `${cls}|s|${source.address}|${source.port}`;
    return isLoopback(source.address) ? [bySource] : [bySource, `${cls}|a|${source.address}`];
  }
}
