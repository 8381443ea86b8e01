import type { Point, Zone } from '@xpp/can';
import type { ZoneChangeCause, ZoneChangeEvent } from './events.js';
import type { OverlayNodeState } from './types.js';

/** What ownership tells its node: the zones changed (the composition fans this out, in order). */
export interface OwnershipContext {
  changed(event: ZoneChangeEvent): void;
}

/**
 * What this node owns and where it stands: its state, zones and their announcement version, the zone being handed
 * away, and the lock that serialises every change of zones made from this node's side (invite, leave, hand-back,
 * takeover commit). The only writer of these: every other part reads them through `state`/`zones`.
 */
export class Ownership {
  readonly #ctx: OwnershipContext;
  #state: OverlayNodeState = 'candidate';
  #zones: Zone[] = [];
  #version = 0;
  /** A zone being handed to another peer: writes into it are refused (503) until it is gone. */
  #handingOff: Zone | undefined;
  #lock: Promise<void> = Promise.resolve();
  /** Until when background hand-backs wait after a takeover (see the takeover coordinator's commit). */
  #handBackHold = 0;

  constructor(ctx: OwnershipContext) {
    this.#ctx = ctx;
  }

  get state(): OverlayNodeState {
    return this.#state;
  }

  get zones(): readonly Zone[] {
    return this.#zones;
  }

  get version(): number {
    return this.#version;
  }

  get handingOff(): Zone | undefined {
    return this.#handingOff;
  }

  setState(state: OverlayNodeState): void {
    this.#state = state;
  }

  /** Takes `zones` as this node's: a new version, and the change fanned out. */
  set(zones: Zone[], cause: ZoneChangeCause): void {
    const previous = this.#zones;
    this.#zones = zones;
    this.#version++;
    this.#ctx.changed({ zones, previous, cause });
  }

  /**
   * Takes back `zones` after a restart, announced above `version` (the last one the node persisted): its neighbours
   * remember that version of it and ignore anything older (dht-resume.md).
   */
  resume(zones: Zone[], version: number): void {
    this.#version = Math.max(this.#version, version);
    this.set(zones, 'resume');
  }

  /**
   * The last zone went to its taker as this node departs: nothing is owned any more, under a new version, and
   * quietly — no event and no settle pass, since the node is about to tell its neighbours and close.
   */
  vacate(): void {
    this.#zones = [];
    this.#version++;
  }

  /**
   * This node's next announcement must be newer than `version`: a version it promised in a LEAVE whose taker never
   * confirmed it (the taker may hold this node's entry at that version without the zone, and would ignore the same
   * version with it).
   */
  supersede(version: number): void {
    this.#version = Math.max(this.#version, version + 1);
  }

  /** Runs `work` while `zone` is being handed away (writes into it are refused meanwhile). */
  async whileHandingOff<T>(zone: Zone, work: () => Promise<T>): Promise<T> {
    this.#handingOff = zone;
    try {
      return await work();
    } finally {
      this.#handingOff = undefined;
    }
  }

  /** Whether a write at `point` may be made here now (not while leaving, nor into a zone being handed away). */
  writable(point: Point): boolean {
    return this.#state !== 'leaving' && this.#handingOff?.contains(point) !== true;
  }

  /** Runs `work` after every earlier exclusive work has finished (whether it failed or not). */
  exclusive<T>(work: () => Promise<T>): Promise<T> {
    const run = this.#lock.then(work);
    this.#lock = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  /** Background hand-backs wait until `until` (a survivor that won a takeover keeps its own zone meanwhile). */
  holdHandBacks(until: number): void {
    this.#handBackHold = until;
  }

  handBacksHeld(now: number): boolean {
    return now < this.#handBackHold;
  }
}
