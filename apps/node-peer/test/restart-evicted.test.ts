// Restart after takeover when the restarted peer has the HIGHER id (issue #18 item 2; node-peer-rejoin.md): it
// resumes its zone, meets the neighbour that took it over as a double owner, loses (the lower id keeps), hands its
// records back and leaves. `xpp-node` then exits with REJOIN_EXIT after persisting "no zones", and the supervisor's
// restart (here the test, as compose's `restart:` would) brings it back as a candidate of the same overlay.
import { afterEach, describe, expect, it } from 'vitest';
import { addUser } from '../src/cli/user-add.js';
import { REJOIN_EXIT } from '../src/daemon.js';
import { aorsIn, ProcessOverlay, Registrations, status } from './support/process-overlay.js';

let overlay: ProcessOverlay | undefined;
const registrations = new Registrations();
const register = registrations.register.bind(registrations);
afterEach(() => {
  registrations.closeAll();
  overlay?.killAll();
});

describe('restart after takeover, restarted peer with the higher id (issue #18)', () => {
  it('loses the repair, exits with REJOIN_EXIT, and its restart rejoins the same overlay as a candidate', async () => {
    const o = (overlay = new ProcessOverlay());
    const a = await o.found();
    const b = await o.join('b');
    // c is given the highest peer id: whichever of a and b takes its zone keeps it when c comes back.
    const highest = [(await status(a.http)).peerId, (await status(b.http)).peerId].sort()[1] as string;
    o.pickIdentity('c', (id) => id > highest);
    await o.join('c');
    const formed = await o.formed();
    const overlayId = formed.get('a')?.overlayId;
    const zones = formed.get('c')?.zones as readonly string[];
    const held = aorsIn(zones, 'held', 1)[0] as string;
    const other = aorsIn(formed.get('a')?.zones as readonly string[], 'other', 1)[0] as string;
    await addUser(o.admin, { aor: held, password: 'held-pw' });
    await addUser(o.admin, { aor: other, password: 'other-pw' });

    await o.kill('c');
    await o.formed(150_000); // a and b tile the space alone: c's zone taken over

    const first = o.relaunch('c');
    const { code } = await Promise.race([
      first.exited,
      new Promise<never>((_, reject) =>
        setTimeout(() => {
          const tail = first
            .logs()
            .slice(-40)
            .map((l) => `${String(l['msg'])} ${JSON.stringify(l)}`.slice(0, 300));
          reject(new Error(`the restarted peer did not exit:\n${tail.join('\n')}`));
        }, 60_000),
      ),
    ]);
    expect(code).toBe(REJOIN_EXIT);
    const said = first.logs().map((l) => String(l['msg']));
    expect(said.some((m) => m.startsWith('resuming overlay'))).toBe(true);
    expect(said.some((m) => m.startsWith('gave its zones up'))).toBe(true);
    o.running.delete('c');

    // The supervisor's restart: a candidate through its persisted neighbours, no operator flag.
    const c = await o.restart('c');
    const again = (o.running.get('c') as { logs(): Record<string, unknown>[] })
      .logs()
      .map((l) => String(l['msg']));
    expect(again.some((m) => m.startsWith('joining: registering as a candidate'))).toBe(true);
    expect(again.some((m) => m.includes('founding overlay'))).toBe(false);
    const rejoined = await o.formed(90_000);
    for (const s of rejoined.values()) expect(s.overlayId).toBe(overlayId);
    expect(rejoined.get('c')?.zones.length).toBeGreaterThan(0);
    expect((await fetch(`http://127.0.0.1:${c.http}/healthz`)).status).toBe(200);
    // Users added before the kill register, through the rejoined peer and elsewhere.
    expect(await register(held, 'held-pw', c)).toBe(200);
    expect(await register(other, 'other-pw', c)).toBe(200);
    expect(await register(held, 'held-pw', b)).toBe(200);
  }, 300_000);
});
