import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { forkTargets } from '../src/proxy/binding-route.js';
import { forkGroups, ResponseContext, type ForkAction } from '../src/proxy/fork.js';

interface R {
  readonly status: number;
  readonly from?: number;
}
const own = (status: number): R => ({ status, from: -1 });
const r = (status: number, from: number): R => ({ status, from });

/** The responses forwarded upstream, and whether each was final. */
const forwarded = (actions: ForkAction<R>[]) =>
  actions.flatMap((a) => (a.kind === 'forward' ? [[a.response.status, a.final] as const] : []));
const cancelled = (actions: ForkAction<R>[]) =>
  actions.flatMap((a) => (a.kind === 'cancel' ? a.branches : []));
const sent = (actions: ForkAction<R>[]) => actions.flatMap((a) => (a.kind === 'send' ? a.branches : []));

describe('forkGroups (RFC 3261 §16.6: q-value order)', () => {
  it('groups equal q in parallel, highest first, keeping the given order within a group', () => {
    const targets = [
      { id: 'a', q: 0.5 },
      { id: 'b', q: 1 },
      { id: 'c', q: 0.5 },
      { id: 'd', q: 1 },
    ];
    expect(forkGroups(targets, 8).map((g) => g.map((t) => t.id))).toEqual([
      ['b', 'd'],
      ['a', 'c'],
    ]);
  });

  it('keeps at most maxBranches targets, the highest q', () => {
    const targets = [0.1, 0.9, 0.5, 0.9, 0.2].map((q, i) => ({ id: i, q }));
    expect(forkGroups(targets, 3).map((g) => g.map((t) => t.id))).toEqual([[1, 3], [2]]);
    expect(forkGroups(targets, 0)).toEqual([]);
  });
});

describe('ResponseContext (RFC 3261 §16.7)', () => {
  it('rings every branch of a group at once and forwards provisional responses, not 100', () => {
    const ctx = new ResponseContext<R>([2], own);
    expect(sent(ctx.start())).toEqual([0, 1]);
    expect(forwarded(ctx.response(0, r(100, 0)))).toEqual([]);
    const ringing = ctx.response(1, r(180, 1));
    expect(forwarded(ringing)).toEqual([[180, false]]);
    expect(ringing).toContainEqual({ kind: 'restart-timer', branch: 1 });
  });

  it('a 2xx is forwarded at once and the other branches are cancelled', () => {
    const ctx = new ResponseContext<R>([3], own);
    ctx.start();
    ctx.response(0, r(180, 0));
    ctx.response(1, r(100, 1));
    const answered = ctx.response(2, r(200, 2));
    expect(forwarded(answered)).toEqual([[200, true]]);
    expect(cancelled(answered)).toEqual([0, 1]);
    expect(ctx.answered).toBe(true);
    // Their 487s are absorbed; a second 2xx still goes (the caller's UA ACKs and BYEs it).
    expect(forwarded(ctx.response(0, r(487, 0)))).toEqual([]);
    expect(forwarded(ctx.response(1, r(200, 1)))).toEqual([[200, false]]);
    expect(ctx.settled).toBe(true);
  });

  it('a branch that has sent nothing is cancelled once it sends its first provisional (RFC 3261 §9.1)', () => {
    const ctx = new ResponseContext<R>([2], own);
    ctx.start();
    expect(cancelled(ctx.response(0, r(200, 0)))).toEqual([]);
    expect(cancelled(ctx.response(1, r(100, 1)))).toEqual([1]);
    expect(cancelled(ctx.response(1, r(180, 1)))).toEqual([]);
    expect(forwarded(ctx.response(1, r(180, 1)))).toEqual([]);
  });

  it('a 6xx ends the search: forwarded at once, the rest cancelled, no later group', () => {
    const ctx = new ResponseContext<R>([2, 1], own);
    ctx.start();
    ctx.response(0, r(180, 0));
    const declined = ctx.response(1, r(603, 1));
    expect(forwarded(declined)).toEqual([[603, true]]);
    expect(cancelled(declined)).toEqual([0]);
    const after = ctx.response(0, r(487, 0));
    expect(after).toEqual([]);
    expect(ctx.settled).toBe(true);
  });

  it('all busy: 486 once every branch answered', () => {
    const ctx = new ResponseContext<R>([2], own);
    ctx.start();
    expect(forwarded(ctx.response(0, r(486, 0)))).toEqual([]);
    expect(forwarded(ctx.response(1, r(486, 1)))).toEqual([[486, true]]);
  });

  it('chooses the lowest class, 401/407/415/420/484 first within it, and turns 503 into 500', () => {
    const pick = (statuses: number[]) => {
      const ctx = new ResponseContext<R>([statuses.length], own);
      ctx.start();
      return statuses.flatMap((s, i) => forwarded(ctx.response(i, r(s, i))));
    };
    expect(pick([503, 486, 302])).toEqual([[302, true]]);
    expect(pick([480, 407, 404])).toEqual([[407, true]]);
    expect(pick([503, 504])).toEqual([[500, true]]);
    expect(pick([480, 486])).toEqual([[480, true]]);
  });

  it('q groups are tried in sequence: the next group starts when the one before failed', () => {
    const ctx = new ResponseContext<R>([1, 2], own);
    expect(sent(ctx.start())).toEqual([0]);
    // A response of a branch not started yet means nothing.
    expect(ctx.response(2, r(200, 2))).toEqual([]);
    expect(sent(ctx.response(0, r(480, 0)))).toEqual([1, 2]);
    ctx.response(1, r(486, 1));
    expect(forwarded(ctx.response(2, r(404, 2)))).toEqual([[480, true]]);
  });

  it('Timer C cancels a ringing branch and turns a silent one into a 408', () => {
    const ctx = new ResponseContext<R>([2], own);
    ctx.start();
    ctx.response(0, r(180, 0));
    expect(cancelled(ctx.timerC(0))).toEqual([0]);
    expect(ctx.timerC(1)).toEqual([]);
    expect(ctx.branchDone(1)).toBe(true);
    // The cancelled branch's 487 settles it; the best of 408 and 487 goes up.
    expect(forwarded(ctx.response(0, r(487, 0)))).toEqual([[408, true]]);
  });

  it('Timer C of a cancelled branch that never answered gives it up', () => {
    const ctx = new ResponseContext<R>([1], own);
    ctx.start();
    ctx.response(0, r(180, 0));
    ctx.timerC(0);
    expect(forwarded(ctx.timerC(0))).toEqual([[408, true]]);
    expect(ctx.branchDone(0)).toBe(true);
  });

  it("the caller's CANCEL cancels every pending branch and starts no further group", () => {
    const ctx = new ResponseContext<R>([2, 1], own);
    ctx.start();
    ctx.response(0, r(180, 0));
    ctx.response(1, r(180, 1));
    expect(cancelled(ctx.cancel())).toEqual([0, 1]);
    ctx.response(0, r(487, 0));
    expect(forwarded(ctx.response(1, r(487, 1)))).toEqual([[487, true]]);
    expect(ctx.settled).toBe(true);
  });

  it('no branch at all: 480', () => {
    expect(forwarded(new ResponseContext<R>([], own).start())).toEqual([[480, true]]);
  });

  const event = fc.oneof(
    fc.record({
      kind: fc.constant('response' as const),
      branch: fc.nat(5),
      status: fc.constantFrom(100, 180, 183, 200, 202, 302, 404, 407, 480, 486, 487, 500, 503, 600, 603),
    }),
    fc.record({ kind: fc.constant('timerC' as const), branch: fc.nat(5) }),
    fc.record({ kind: fc.constant('cancel' as const) }),
  );

  it('whatever happens: one final forwarded at most, every 2xx forwarded, nothing started after the final', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 1, maxLength: 3 }),
        fc.array(event, { maxLength: 40 }),
        (groups, events) => {
          const ctx = new ResponseContext<R>(groups, own);
          const started = new Set(sent(ctx.start()));
          let finals = 0;
          const cancels = new Set<number>();
          for (const e of events) {
            const actions =
              e.kind === 'response'
                ? ctx.response(e.branch, r(e.status, e.branch))
                : e.kind === 'timerC'
                  ? ctx.timerC(e.branch)
                  : ctx.cancel();
            const answeredBefore = finals > 0;
            for (const a of actions) {
              if (a.kind === 'send') {
                expect(answeredBefore).toBe(false);
                for (const b of a.branches) started.add(b);
              } else if (a.kind === 'cancel') {
                for (const b of a.branches) {
                  expect(cancels.has(b)).toBe(false);
                  expect(started.has(b)).toBe(true);
                  cancels.add(b);
                }
              } else if (a.kind === 'forward') {
                if (a.final) finals++;
                if (a.response.status >= 200) expect(a.final || a.response.status < 300).toBe(true);
                if (answeredBefore) expect(a.response.status < 300).toBe(true);
              }
            }
            if (e.kind === 'response' && started.has(e.branch) && e.status >= 200 && e.status < 300)
              expect(forwarded(actions)).toContainEqual([e.status, expect.any(Boolean)]);
            expect(finals).toBeLessThanOrEqual(1);
          }
        },
      ),
    );
  });

  it('when every branch fails, the final is of the lowest class received', () => {
    fc.assert(
      fc.property(
        fc.array(fc.constantFrom(302, 404, 480, 486, 500, 503), { minLength: 1, maxLength: 6 }),
        (statuses) => {
          const ctx = new ResponseContext<R>([statuses.length], own);
          ctx.start();
          const out = statuses.flatMap((s, i) => forwarded(ctx.response(i, r(s, i))));
          expect(out).toHaveLength(1);
          const lowest = Math.min(...statuses.map((s) => Math.floor(s / 100)));
          expect(Math.floor(out[0]![0] / 100)).toBe(lowest);
        },
      ),
    );
  });
});

describe('forkTargets (binding-route.ts): one target per user agent', () => {
  const peer = new Uint8Array(16);
  const b = (
    contact: string,
    expires: number,
    extra: { instanceId?: string; regId?: number; q?: number } = {},
  ) => ({
    instanceId: extra.instanceId ?? '',
    regId: extra.regId ?? 0,
    contact,
    flowPeer: peer,
    expires,
    ...(extra.q === undefined ? {} : { q: extra.q }),
  });

  it('puts the flows of one instance in one target, freshest first, and other contacts apart', () => {
    const targets = forkTargets([
      b('sip:a@192.0.2.1', 100, { instanceId: 'urn:uuid:1', regId: 1 }),
      b('sip:b@192.0.2.2', 300),
      b('sip:a@192.0.2.3', 200, { instanceId: 'urn:uuid:1', regId: 2, q: 0.5 }),
    ]);
    expect(targets.map((t) => [t.q, t.bindings.map((x) => x.contact)])).toEqual([
      [1, ['sip:b@192.0.2.2']],
      [0.5, ['sip:a@192.0.2.3', 'sip:a@192.0.2.1']],
    ]);
  });
});
