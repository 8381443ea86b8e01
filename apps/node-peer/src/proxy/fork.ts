/**
 * The response context of a forked INVITE (RFC 3261 §16.7), without I/O: branches are numbers, responses anything
 * with a status, and every step returns what the proxy must do. fork-invite.ts does the sending and the timers.
 */

/** Branches a forked INVITE has at most, across all its q-value groups. */
export const DEFAULT_MAX_BRANCHES = 8;
/** Timer C (RFC 3261 §16.6 step 11): how long a branch may ring, ms; the RFC wants more than 3 minutes. */
export const DEFAULT_TIMER_C_MS = 181_000;
/** The q-value of a contact registered without one (RFC 3261 §16.6 leaves it to the proxy: heard first). */
export const DEFAULT_Q = 1;

/** What the proxy must do after an event. */
export type ForkAction<R> =
  /** Send the INVITE on these branches (one q-value group, in parallel) and arm their Timer C. */
  | { readonly kind: 'send'; readonly branches: readonly number[] }
  /** Send CANCEL on these branches (each has had a provisional response, RFC 3261 §9.1). */
  | { readonly kind: 'cancel'; readonly branches: readonly number[] }
  /** Send this response upstream: a provisional, a 2xx, or the final one of the context (`final`). */
  | { readonly kind: 'forward'; readonly response: R; readonly final: boolean }
  /** Timer C of this branch restarts (it had a provisional response, §16.7 step 2). */
  | { readonly kind: 'restart-timer'; readonly branch: number };

interface Branch {
  /** Any response seen (a CANCEL may be sent, RFC 3261 §9.1). */
  provisional: boolean;
  done: boolean;
  /** CANCEL asked for; sent as soon as the branch has had a provisional response. */
  cancelWanted: boolean;
  cancelSent: boolean;
}

/**
 * Targets in the order they are tried (RFC 3261 §16.6, §16.7 step 4 "sequential search"): groups of equal q-value,
 * highest first; within a group in the order given (the caller puts the freshest binding first). At most
 * `maxBranches` targets in all, the highest q kept.
 */
export function forkGroups<T extends { readonly q: number }>(
  targets: readonly T[],
  maxBranches: number,
): T[][] {
  const kept = [...targets].sort((a, b) => b.q - a.q).slice(0, Math.max(0, maxBranches));
  const groups: T[][] = [];
  for (const target of kept) {
    const last = groups.at(-1);
    if (last !== undefined && last[0]!.q === target.q) last.push(target);
    else groups.push([target]);
  }
  return groups;
}

/** RFC 3261 §16.7 step 6: final responses preferred within their class when no 6xx was received. */
const PREFERRED = new Set([401, 407, 415, 420, 484]);

/**
 * The response context of one forked INVITE (RFC 3261 §16.7). Branches are numbered 0… across the groups given;
 * a group starts when every branch of the one before has a final response and nothing was forwarded as final.
 * - A provisional response (not 100) is forwarded; a 2xx is forwarded at once (every one, even late: §16.7
 *   step 5) and cancels the branches still pending; a 6xx ends the search the same way (forwarded at once, see
 *   docs/decisions/node-peer-forking.md); other finals wait, and when every branch is done the best one goes:
 *   the lowest class, 401/407/415/420/484 first within it, 503 sent as 500 (§16.7 step 6), 408 when none came.
 * - Timer C of a branch that rang cancels it; of one that never answered counts as a 408 (§16.8).
 * - {@link cancel} (the caller's CANCEL, §16.10) cancels every pending branch and starts no further group.
 */
export class ResponseContext<R extends { readonly status: number }> {
  readonly #groups: readonly (readonly number[])[];
  readonly #branches: Branch[];
  readonly #synthesize: (status: number) => R;
  readonly #finals: R[] = [];
  #group = -1;
  #finalSent = false;
  #searching = true;

  /**
   * @param groups how many branches each sequential group has (from {@link forkGroups}), at least one in all
   * @param synthesize a response of the proxy's own (408 when no branch answered, 500 for a chosen 503)
   */
  constructor(groups: readonly number[], synthesize: (status: number) => R) {
    let next = 0;
    this.#groups = groups.filter((n) => n > 0).map((n) => Array.from({ length: n }, () => next++));
    this.#branches = Array.from({ length: next }, () => ({
      provisional: false,
      done: false,
      cancelWanted: false,
      cancelSent: false,
    }));
    this.#synthesize = synthesize;
  }

  /** Whether a final response went upstream (the server transaction is answered). */
  get answered(): boolean {
    return this.#finalSent;
  }

  /** Whether every branch started has its final response (nothing more is expected from them). */
  get settled(): boolean {
    return this.#branches.every((b, i) => b.done || !this.#started(i));
  }

  /** Whether `branch` has its final response (or was given up as a 408). */
  branchDone(branch: number): boolean {
    return this.#branches[branch]?.done ?? false;
  }

  /** Whether `branch` is to be cancelled (the caller cancelled, another branch answered, or its Timer C fired). */
  cancelWanted(branch: number): boolean {
    return this.#branches[branch]?.cancelWanted ?? false;
  }

  /** The first group's branches. */
  start(): ForkAction<R>[] {
    return this.#nextGroup();
  }

  /** A response on `branch` (100 included: it allows a CANCEL; it is never forwarded). */
  response(branch: number, response: R): ForkAction<R>[] {
    const b = this.#branches[branch];
    if (b === undefined || !this.#started(branch)) return [];
    const { status } = response;
    if (status >= 200 && status < 300) {
      // A 2xx is always forwarded, even after another final (the caller's UA handles several 2xx, §16.7 step 5).
      const first = !this.#finalSent;
      b.done = true;
      this.#finalSent = true;
      this.#searching = false;
      return [{ kind: 'forward', response, final: first }, ...this.#cancelPending()];
    }
    if (b.done) return [];
    if (status < 200) {
      b.provisional = true;
      const actions: ForkAction<R>[] = [];
      if (b.cancelWanted && !b.cancelSent) {
        b.cancelSent = true;
        actions.push({ kind: 'cancel', branches: [branch] });
      }
      if (status === 100) return actions;
      // A cancelled branch rings on only until Timer C: nothing it sends keeps it alive.
      if (!b.cancelWanted) actions.push({ kind: 'restart-timer', branch });
      if (!this.#finalSent) actions.push({ kind: 'forward', response, final: false });
      return actions;
    }
    b.done = true;
    if (this.#finalSent) return [];
    this.#finals.push(response);
    if (status >= 600) {
      this.#finalSent = true;
      this.#searching = false;
      return [{ kind: 'forward', response, final: true }, ...this.#cancelPending()];
    }
    return this.#afterFinal();
  }

  /** Timer C of `branch` fired (RFC 3261 §16.8). */
  timerC(branch: number): ForkAction<R>[] {
    const b = this.#branches[branch];
    if (b === undefined || b.done || !this.#started(branch)) return [];
    if (b.provisional && !b.cancelSent) {
      b.cancelWanted = true;
      b.cancelSent = true;
      return [{ kind: 'cancel', branches: [branch] }];
    }
    // Never answered, or cancelled and still not answered: the branch is over, as if it had a 408.
    return this.response(branch, this.#synthesize(408));
  }

  /** The caller cancelled (RFC 3261 §16.10): every pending branch is cancelled, no further group starts. */
  cancel(): ForkAction<R>[] {
    this.#searching = false;
    return this.#cancelPending();
  }

  #started(branch: number): boolean {
    return this.#group >= 0 && branch <= (this.#groups[this.#group]?.at(-1) ?? -1);
  }

  #afterFinal(): ForkAction<R>[] {
    const current = this.#groups[this.#group] ?? [];
    if (!current.every((i) => this.#branches[i]!.done)) return [];
    if (this.#searching && this.#group + 1 < this.#groups.length) return this.#nextGroup();
    this.#finalSent = true;
    return [{ kind: 'forward', response: this.#best(), final: true }];
  }

  #nextGroup(): ForkAction<R>[] {
    this.#group++;
    const branches = this.#groups[this.#group];
    if (branches === undefined) {
      // No branch at all: nobody to ring.
      if (this.#finalSent) return [];
      this.#finalSent = true;
      return [{ kind: 'forward', response: this.#synthesize(480), final: true }];
    }
    return [{ kind: 'send', branches }];
  }

  #cancelPending(): ForkAction<R>[] {
    const now: number[] = [];
    this.#branches.forEach((b, i) => {
      if (b.done || !this.#started(i) || b.cancelWanted) return;
      b.cancelWanted = true;
      if (b.provisional) {
        b.cancelSent = true;
        now.push(i);
      }
    });
    return now.length === 0 ? [] : [{ kind: 'cancel', branches: now }];
  }

  /** RFC 3261 §16.7 step 6. */
  #best(): R {
    const finals = this.#finals;
    if (finals.length === 0) return this.#synthesize(408);
    const lowest = Math.min(...finals.map((r) => Math.floor(r.status / 100)));
    const inClass = finals.filter((r) => Math.floor(r.status / 100) === lowest);
    const chosen = inClass.find((r) => PREFERRED.has(r.status)) ?? inClass[0]!;
    // §16.7 step 6: a 503 chosen would make the caller think this proxy is overloaded.
    return chosen.status === 503 ? this.#synthesize(500) : chosen;
  }
}
