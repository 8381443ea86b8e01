// Restart after takeover (issue #18 item 2), black-box against three `xpp-node` processes: a peer killed -9, its
// zone taken over by a neighbour (the real failure detection: keepalives, about a minute), then restarted from its
// data directory. It must rejoin — one overlay id on every /status, no fork — and what it held must meet what the
// taker was given meanwhile: a user added before the kill and one added to the taker after are both there, and a
// password changed at the taker after the kill beats the restarted peer's older copy (highest serial wins).
import { waitFor } from '@xpp/reliability/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { addUser } from '../src/cli/user-add.js';
import { changePassword } from '../src/cli/user-passwd.js';
import { aorsIn, ProcessOverlay, Registrations, status } from './support/process-overlay.js';

let overlay: ProcessOverlay | undefined;
const registrations = new Registrations();
const register = registrations.register.bind(registrations);
afterEach(() => {
  registrations.closeAll();
  overlay?.killAll();
});

describe('restart after takeover (issue #18)', () => {
  it('a peer killed -9 and taken over rejoins without a fork; its records and the taker’s meet, highest serial wins', async () => {
    const o = (overlay = new ProcessOverlay());
    const a = await o.found();
    const b = await o.join('b');
    // c is given the lowest peer id: on its return it keeps its zone (the lower id keeps, dht-double-ownership.md)
    // and the taker hands the records back — the path where a stale copy could beat the taker's newer one.
    const lowest = [(await status(a.http)).peerId, (await status(b.http)).peerId].sort()[0] as string;
    o.pickIdentity('c', (id) => id < lowest);
    await o.join('c');
    const formed = await o.formed();
    const overlayId = formed.get('a')?.overlayId;
    const zones = formed.get('c')?.zones as readonly string[];
    const [before, changed, after] = aorsIn(zones, 'user', 3) as [string, string, string];
    await addUser(o.admin, { aor: before, password: 'before-pw' });
    await addUser(o.admin, { aor: changed, password: 'old-pw' });
    // A binding held by c: before's flow is at a, which stays up.
    expect(await register(before, 'before-pw', a)).toBe(200);

    await o.kill('c');
    // The takeover: a and b alone tile the space, c gone from both tables.
    const took = await o.formed(150_000);
    const taker = [...took.entries()].find(([, s]) =>
      s.zones.some((z) => zones.some((y) => y.startsWith(z) || z.startsWith(y))),
    );
    expect(taker).toBeDefined();
    await addUser(o.admin, { aor: after, password: 'after-pw' });
    const passwd = await changePassword(o.admin, { aor: changed, password: 'new-pw' });
    expect(passwd.serial).toBeGreaterThan(passwd.previous);

    const c = await o.restart('c');
    const said = (o.running.get('c') as { logs(): Record<string, unknown>[] })
      .logs()
      .map((l) => String(l['msg']));
    expect(said.some((m) => m.startsWith('resuming overlay'))).toBe(true);
    expect(said.some((m) => m.includes('founding overlay'))).toBe(false);
    const again = await o.formed(90_000);
    // No fork: one overlay id everywhere, the one founded by a; c holds its zone again.
    for (const s of again.values()) expect(s.overlayId).toBe(overlayId);
    expect(again.get('c')?.zones).toEqual(zones);

    // Written before the kill, to the taker after it, changed at the taker: all answered by c now.
    await waitFor(async () => ((await register(changed, 'new-pw', b)) === 200 ? true : undefined), {
      what: 'the password changed at the taker, at the restarted owner',
      timeoutMs: 30_000,
      intervalMs: 500,
    });
    expect(await register(changed, 'old-pw', b)).toBe(401);
    // before's binding (held by c, written before the kill) still routes a call to its flow at a.
    const caller = await registrations.client(after, 'after-pw', b);
    expect(await caller.register()).toBe(200);
    expect(await caller.call(before)).toEqual({ invite: 200, bye: 200 });
    expect(await register(before, 'before-pw', c)).toBe(200);
    expect(await register(after, 'after-pw', c)).toBe(200);
  }, 300_000);
});
