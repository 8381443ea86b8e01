import { randomInt } from 'node:crypto';
import { systemClock, type Clock } from '@xpp/reliability';
import { SessionError } from '../errors.js';

/** Default bound on ltags in use at once by one endpoint. */
export const DEFAULT_MAX_ACTIVE_LTAGS = 4_096;
/** Default time a released ltag stays unused, so late fragments of the old session cannot reach a new one (64×T1). */
export const DEFAULT_LTAG_QUARANTINE_MS = 32_000;

export interface LtagAllocatorOptions {
  readonly clock?: Clock;
  /** Default {@link DEFAULT_MAX_ACTIVE_LTAGS}; at most 65535. */
  readonly maxActive?: number;
  /** Default {@link DEFAULT_LTAG_QUARANTINE_MS}. */
  readonly quarantineMs?: number;
  /** Random integer in [min, max); default `crypto.randomInt`. Injected for tests. */
  readonly random?: (min: number, max: number) => number;
}

/**
 * Hands out the 16-bit ltags of one endpoint's sessions without collision (spec §2). Random, so a peer cannot
 * guess the next one; 0x0000 is never handed out. Released ltags are quarantined before reuse.
 */
export class LtagAllocator {
  readonly #active = new Set<number>();
  /** Release time by ltag, in release order. */
  readonly #quarantine = new Map<number, number>();
  readonly #clock: Clock;
  readonly #maxActive: number;
  readonly #quarantineMs: number;
  readonly #random: (min: number, max: number) => number;

  constructor(options: LtagAllocatorOptions = {}) {
    this.#clock = options.clock ?? systemClock;
    this.#maxActive = Math.min(options.maxActive ?? DEFAULT_MAX_ACTIVE_LTAGS, 0xffff);
    this.#quarantineMs = options.quarantineMs ?? DEFAULT_LTAG_QUARANTINE_MS;
    this.#random = options.random ?? randomInt;
  }

  get size(): number {
    return this.#active.size;
  }

  has(ltag: number): boolean {
    return this.#active.has(ltag);
  }

  /** A free ltag, now in use. Throws `LTAG_EXHAUSTED` when the bound is reached or none is free. */
  allocate(): number {
    if (this.#active.size >= this.#maxActive) {
      throw new SessionError('LTAG_EXHAUSTED', `${this.#maxActive} ltags in use`);
    }
    this.#expire();
    for (let attempt = 0; attempt < 16; attempt++) {
      const ltag = this.#random(1, 0x10000);
      if (this.#free(ltag)) return this.#take(ltag);
    }
    // Dense table: scan once from a random start so allocation always terminates.
    const start = this.#random(1, 0x10000);
    for (let i = 0; i < 0xffff; i++) {
      const ltag = ((start - 1 + i) % 0xffff) + 1;
      if (this.#free(ltag)) return this.#take(ltag);
    }
    throw new SessionError('LTAG_EXHAUSTED', 'every ltag is in use or quarantined');
  }

  /** Gives `ltag` back; it becomes free after the quarantine. Unknown ltags are ignored. */
  release(ltag: number): void {
    if (!this.#active.delete(ltag)) return;
    this.#quarantine.set(ltag, this.#clock.now());
  }

  #free(ltag: number): boolean {
    return !this.#active.has(ltag) && !this.#quarantine.has(ltag);
  }

  #take(ltag: number): number {
    this.#active.add(ltag);
    return ltag;
  }

  #expire(): void {
    const now = this.#clock.now();
    for (const [ltag, releasedAt] of this.#quarantine) {
      if (now - releasedAt < this.#quarantineMs) break;
      this.#quarantine.delete(ltag);
    }
  }
}
