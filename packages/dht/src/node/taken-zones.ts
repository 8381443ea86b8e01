import type { Zone } from '@xpp/can';

/** Takes remembered at once (oldest forgotten first): a node takes a few zones per settle, not thousands. */
const REMEMBERED = 64;

/**
 * The zones this node took by LEAVE lately, and from whom: a sender whose answer was lost asks again, and must hear
 * that the zone is taken (docs/decisions/dht-handoff-confirm.md) — even once this node merged the zone, handed it on
 * or stopped counting the sender as a neighbour. Kept for `keepFor` after each take.
 */
export class TakenZones {
  readonly #keepFor: number;
  readonly #takes: { from: string; zone: Zone; until: number }[] = [];

  constructor(keepFor: number) {
    this.#keepFor = keepFor;
  }

  /** `from` handed this node `zones` at `now`. */
  note(from: string, zones: readonly Zone[], now: number): void {
    for (const zone of zones) this.#takes.push({ from, zone, until: now + this.#keepFor });
    if (this.#takes.length > REMEMBERED) this.#takes.splice(0, this.#takes.length - REMEMBERED);
  }

  /** Whether this node took every one of `zones` from `from` lately (a LEAVE asked again). */
  tookAll(from: string, zones: readonly Zone[], now: number): boolean {
    return (
      zones.length > 0 &&
      zones.every((z) => this.#takes.some((t) => t.from === from && t.until > now && t.zone.equals(z)))
    );
  }

  /** Whether this node took any zone from `from` lately. */
  tookFrom(from: string, now: number): boolean {
    return this.#takes.some((t) => t.from === from && t.until > now);
  }
}
