import { chooseTakeover, type TakeoverCandidate, type TakeoverOptions, type Zone } from '@xpp/can';
import type { Clock, TimerHandle } from '@xpp/reliability';
import { adjacent, type PeerView } from './neighbour-table.js';

/** A dead neighbour, remembered while its zones are taken over. */
export interface DeadPeer {
  readonly id: string;
  readonly peerId: Uint8Array;
  readonly version: number;
  readonly zones: readonly Zone[];
  readonly peers: readonly PeerView[];
  /** When this node found it dead (its clock). */
  readonly diedAt: number;
}

/** One dead zone this node is a survivor of (spec §3 TAKEOVER). */
export interface Takeover {
  readonly key: string;
  readonly dead: DeadPeer;
  readonly zone: Zone;
  state: 'waiting' | 'claiming' | 'yielded' | 'done';
  timer: TimerHandle | undefined;
  /**
   * The survivors in takeover order (spec §3: sibling, smaller volume, lower id), ranked on the dead peer's last
   * announced neighbour list — the same list at every survivor, and the view the dead peer chose its replica
   * holders from, so the first is the one holding the replicas.
   */
  readonly order: readonly string[];
  /**
   * The survivors holding replicas of the zone's records: the first `replicas` in the order of the dead zone as this
   * survivor first knew it (a part of it taken over on its own keeps the holders of the whole).
   */
  readonly holders: readonly string[];
  /** The claimer this survivor granted the zone to, and when: other claimers are refused for a while. */
  granted: { readonly id: string; readonly at: number } | undefined;
}

/** What one other survivor answered a claim. */
export type ClaimAnswer = 'ok' | 'refused' | 'unreachable';

/**
 * The survivors of `zone` ranked as spec §3 prefers them, from the dead peer's announced list (and `self`, the
 * survivor ranking them).
 */
export function takeoverOrder(
  dead: DeadPeer,
  zone: Zone,
  self: TakeoverCandidate<string>,
  options: TakeoverOptions,
): string[] {
  const candidates = new Map<string, TakeoverCandidate<string>>();
  for (const p of dead.peers)
    if (p.id !== self.id && p.zones.length > 0 && adjacent(p.zones, [zone])) candidates.set(p.id, p);
  // This node as it is, not as the dead peer's list has it: a node never hears its own entry of a neighbour's
  // list updated (its own announcement made the change), so that entry can be older than what every other
  // survivor ranks it by — and a stale whole sibling there made a survivor rank itself first.
  candidates.set(self.id, self);
  return chooseTakeover(zone, [...candidates.values()], options).order.map((c) => c.id);
}

/** Whether `self` comes before `other` in the takeover order of `t` (ranked on the same list by both). */
export function prefers(
  t: Takeover,
  self: TakeoverCandidate<string>,
  other: TakeoverCandidate<string>,
  options: TakeoverOptions,
): boolean {
  const mine = t.order.indexOf(self.id);
  const their = t.order.indexOf(other.id);
  if (their >= 0) return mine < their;
  if (other.zones.length === 0) return true;
  return chooseTakeover(t.zone, [self, other], options).taker === self.id;
}

/** The takeovers of one node, by dead peer and zone, with their timers. */
export class TakeoverTable {
  readonly #entries = new Map<string, Takeover>();
  readonly #clock: Clock;

  constructor(clock: Clock) {
    this.#clock = clock;
  }

  /** The takeover of `zone` of the dead peer `deadId`, if any. */
  get(deadId: string, zone: Zone): Takeover | undefined {
    return this.#entries.get(takeoverKey(deadId, zone));
  }

  /**
   * Starts the takeover of `zone` of `dead`, its survivors ranked in `order`, the replica holders `holders`; the
   * caller arms its timer.
   */
  add(dead: DeadPeer, zone: Zone, order: readonly string[], holders: readonly string[]): Takeover {
    const key = takeoverKey(dead.id, zone);
    const t: Takeover = {
      key,
      dead,
      zone,
      state: 'waiting',
      timer: undefined,
      order,
      holders,
      granted: undefined,
    };
    this.#entries.set(key, t);
    return t;
  }

  /** Whether `t` is still the takeover of its dead zone (not dropped, nor replaced). */
  has(t: Takeover): boolean {
    return this.#entries.get(t.key) === t;
  }

  /** Drops `t` when it is still the takeover of its dead zone. */
  delete(t: Takeover): void {
    if (this.has(t)) this.#entries.delete(t.key);
  }

  values(): IterableIterator<Takeover> {
    return this.#entries.values();
  }

  /** Takeovers waiting for their turn or claiming. */
  get pending(): number {
    let pending = 0;
    for (const t of this.#entries.values()) if (t.state === 'waiting' || t.state === 'claiming') pending++;
    return pending;
  }

  /**
   * Whether a takeover is undecided here (or was yielded a moment ago): the dead zone's neighbours that are not
   * this node's then stay linked, since other survivors may still be claiming over those links.
   */
  coordinating(): boolean {
    for (const t of this.#entries.values()) if (t.state !== 'done') return true;
    return false;
  }

  /** Stops every timer and forgets every takeover (the node closes). */
  clear(): void {
    for (const t of this.#entries.values()) if (t.timer !== undefined) this.#clock.clearTimer(t.timer);
    this.#entries.clear();
  }
}

function takeoverKey(deadId: string, zone: Zone): string {
  return `${deadId}/${zone.path}`;
}
