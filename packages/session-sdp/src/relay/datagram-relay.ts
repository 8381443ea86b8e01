import type { Clock, TimerHandle } from '@xpp/reliability';
import type { FragmentHeader } from '@xpp/wire';
import { SessionError } from '../errors.js';
import type { TransportAddress } from '../sdp/description.js';

/** Bounds of a relay (docs/decisions/dht-nat.md, part 4). */
export interface DatagramRelayLimits {
  /** Allocations at once. Default 8. */
  readonly maxAllocations?: number;
  /** Octets per second one side of an allocation may have forwarded (token bucket, one second deep). Default 256 KiB. */
  readonly bytesPerSecond?: number;
  /** Datagrams per second one side of an allocation may have forwarded. Default 500. */
  readonly datagramsPerSecond?: number;
  /** An allocation that forwarded nothing either way for this long is dropped, ms. Default 30 s. */
  readonly idleMs?: number;
}

export const DEFAULT_RELAY_LIMITS: Required<DatagramRelayLimits> = Object.freeze({
  maxAllocations: 8,
  bytesPerSecond: 256 * 1024,
  datagramsPerSecond: 500,
  idleMs: 30_000,
});

/** One side of a relayed session: the address its datagrams come from (latched) and its ltag in that session. */
export interface RelaySide {
  readonly address: TransportAddress;
  readonly ltag: number;
}

/** Why a datagram that matched an allocation was not forwarded. */
export type RelayDropReason = 'over-rate' | 'send-failed';

export interface DatagramRelayStats {
  readonly allocations: number;
  readonly allocated: number;
  /** Allocations refused because `maxAllocations` were held. */
  readonly refusedFull: number;
  readonly expired: number;
  readonly forwarded: { readonly datagrams: number; readonly octets: number };
  readonly dropped: Readonly<Record<RelayDropReason, number>>;
}

/** A relayed session held by the relay; `release` ends it (idempotent). */
export interface RelayAllocation {
  readonly a: RelaySide;
  readonly b: RelaySide;
  release(): void;
}

interface Direction {
  readonly to: TransportAddress;
  /** The ltag the datagram must be addressed to (the other side's). */
  readonly remoteLtag: number;
  readonly allocation: Allocation;
  bytes: number;
  datagrams: number;
  refilled: number;
}

interface Allocation extends RelayAllocation {
  lastActive: number;
  readonly keys: readonly string[];
  readonly released?: () => void;
}

function key(address: TransportAddress, ltag: number): string {
  return `${address.address}|${address.port}|${ltag}`;
}

/**
 * Forwards the datagrams of sessions between two other endpoints, on this endpoint's own socket (a relay at the XPP
 * layer, docs/decisions/dht-nat.md part 4). Each side is latched to one source address — the one its own session
 * with this endpoint is known from, which its NAT keeps open — and its ltag: a datagram is forwarded only when it
 * comes from that address, says it is from that ltag and is addressed to the other side's. The payload stays sealed
 * end to end: the relay reads nothing but the fragment header. Who may allocate is the caller's policy.
 */
export class DatagramRelay {
  readonly #clock: Clock;
  readonly #limits: Required<DatagramRelayLimits>;
  readonly #send: (datagram: Uint8Array, to: TransportAddress) => void;
  readonly #directions = new Map<string, Direction>();
  readonly #allocations = new Set<Allocation>();
  #sweep: TimerHandle | undefined;
  #allocated = 0;
  #refusedFull = 0;
  #expired = 0;
  #forwardedDatagrams = 0;
  #forwardedOctets = 0;
  readonly #dropped: Record<RelayDropReason, number> = { 'over-rate': 0, 'send-failed': 0 };

  constructor(init: {
    clock: Clock;
    send: (datagram: Uint8Array, to: TransportAddress) => void;
    limits?: DatagramRelayLimits;
  }) {
    this.#clock = init.clock;
    this.#send = init.send;
    this.#limits = { ...DEFAULT_RELAY_LIMITS, ...init.limits };
  }

  get stats(): DatagramRelayStats {
    return {
      allocations: this.#allocations.size,
      allocated: this.#allocated,
      refusedFull: this.#refusedFull,
      expired: this.#expired,
      forwarded: { datagrams: this.#forwardedDatagrams, octets: this.#forwardedOctets },
      dropped: { ...this.#dropped },
    };
  }

  /** Whether another allocation fits. */
  get full(): boolean {
    return this.#allocations.size >= this.#limits.maxAllocations;
  }

  /**
   * Relays the session between `a` and `b` until released or idle; `released` is called once it ends either way.
   * Throws `TOO_LARGE` when `maxAllocations` are held (counted), `INVALID_ARGUMENT` when a side is relayed already.
   */
  allocate(a: RelaySide, b: RelaySide, released?: () => void): RelayAllocation {
    if (this.full) {
      this.#refusedFull++;
      throw new SessionError('TOO_LARGE', `the relay holds ${this.#limits.maxAllocations} allocations`);
    }
    const keys = [key(a.address, a.ltag), key(b.address, b.ltag)];
    if (keys[0] === keys[1] || keys.some((k) => this.#directions.has(k)))
      throw new SessionError('INVALID_ARGUMENT', 'a side of this allocation is relayed already');
    const now = this.#clock.now();
    const allocation: Allocation = {
      a,
      b,
      keys,
      lastActive: now,
      release: () => this.#release(allocation),
      ...(released === undefined ? {} : { released }),
    };
    const direction = (to: RelaySide): Direction => ({
      to: to.address,
      remoteLtag: to.ltag,
      allocation,
      bytes: this.#limits.bytesPerSecond,
      datagrams: this.#limits.datagramsPerSecond,
      refilled: now,
    });
    this.#directions.set(keys[0] as string, direction(b));
    this.#directions.set(keys[1] as string, direction(a));
    this.#allocations.add(allocation);
    this.#allocated++;
    this.#sweep ??= this.#clock.setTimer(() => this.#expire(), this.#limits.idleMs / 4);
    return allocation;
  }

  /**
   * Forwards `datagram` when it belongs to an allocation (see the class); true when it did (or dropped it over the
   * side's rate), false when the datagram is none of the relay's business.
   */
  forward(datagram: Uint8Array, header: FragmentHeader, source: TransportAddress): boolean {
    if (this.#directions.size === 0) return false;
    const direction = this.#directions.get(key(source, header.localId));
    if (direction === undefined || direction.remoteLtag !== header.remoteId) return false;
    const now = this.#clock.now();
    this.#refill(direction, now);
    if (direction.datagrams < 1 || direction.bytes < datagram.length) {
      this.#dropped['over-rate']++;
      return true;
    }
    direction.datagrams--;
    direction.bytes -= datagram.length;
    direction.allocation.lastActive = now;
    try {
      this.#send(datagram, direction.to);
    } catch {
      this.#dropped['send-failed']++;
      return true;
    }
    this.#forwardedDatagrams++;
    this.#forwardedOctets += datagram.length;
    return true;
  }

  /** Drops every allocation (the endpoint closes). */
  close(): void {
    for (const allocation of [...this.#allocations]) this.#release(allocation);
  }

  #refill(d: Direction, now: number): void {
    const elapsed = Math.max(0, now - d.refilled) / 1000;
    if (elapsed === 0) return;
    d.refilled = now;
    d.bytes = Math.min(this.#limits.bytesPerSecond, d.bytes + elapsed * this.#limits.bytesPerSecond);
    d.datagrams = Math.min(
      this.#limits.datagramsPerSecond,
      d.datagrams + elapsed * this.#limits.datagramsPerSecond,
    );
  }

  #release(allocation: Allocation): void {
    if (!this.#allocations.delete(allocation)) return;
    for (const k of allocation.keys) this.#directions.delete(k);
    allocation.released?.();
    if (this.#allocations.size === 0 && this.#sweep !== undefined) {
      this.#clock.clearTimer(this.#sweep);
      this.#sweep = undefined;
    }
  }

  #expire(): void {
    this.#sweep = undefined;
    const idleSince = this.#clock.now() - this.#limits.idleMs;
    for (const allocation of [...this.#allocations]) {
      if (allocation.lastActive > idleSince) continue;
      this.#expired++;
      this.#release(allocation);
    }
    if (this.#allocations.size > 0)
      this.#sweep = this.#clock.setTimer(() => this.#expire(), this.#limits.idleMs / 4);
  }
}
