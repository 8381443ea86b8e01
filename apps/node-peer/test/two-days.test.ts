// Users outlive the node that added them (issue #18 item 4): that node leaves and its data directory is deleted,
// then two days pass — more than the day a credential used to live without its republisher — and every user is
// still there and registers, on the running peers and again after they restart from disk.
//
// In-process daemons (startNode), not `xpp-node` processes: a process cannot be given a clock. All three share
// one clock (the project's Clock, injected through StartNodeOptions.clock): real timers, and a monotonic and
// wall time the test moves two days on at once — what every record store, expiry and certificate check reads.
// A binding registered before the jump (CONTROL) shows the days really passed for the stores: it is gone.
import { rmSync } from 'node:fs';
import { RecordKind } from '@xpp/dht';
import { systemClock, type Clock } from '@xpp/reliability';
import { waitFor } from '@xpp/reliability/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { DemoSipClient } from '../src/cli/demo/sip-client.js';
import { addUser } from '../src/cli/user-add.js';
import type { NodeHandle } from '../src/daemon.js';
import { Daemons } from './support/overlay-trio.js';

const TWO_DAYS_MS = 2 * 86_400_000;

/** Real timers; monotonic and wall time both `skip`ped on by the test. */
function movableClock(): { clock: Clock; skip(ms: number): void } {
  let offset = 0;
  return {
    clock: {
      now: () => systemClock.now() + offset,
      wallNow: () => systemClock.wallNow() + offset,
      setTimer: (callback, delayMs) => systemClock.setTimer(callback, delayMs),
      clearTimer: (handle) => systemClock.clearTimer(handle),
    },
    skip: (ms) => {
      offset += ms;
    },
  };
}

let daemons: Daemons | undefined;
const clients: DemoSipClient[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await daemons?.closeAll();
});

const USERS = ['alice', 'bob', 'carol', 'dave', 'erin', 'frank'].map((n) => `sip:${n}@localhost`);
/** Registered once, before the two days (an hour's binding), never after: the control that time moved. */
const CONTROL = 'sip:olga@localhost';

async function client(aor: string, at: NodeHandle): Promise<DemoSipClient> {
  const c = await DemoSipClient.open({
    aor,
    password: `${aor}-pw`,
    peer: { address: '127.0.0.1', port: at.ports.sip },
  });
  clients.push(c);
  return c;
}

describe('users outlive the node that added them (issue #18)', () => {
  it('the adder removed for good, two days on the clock: every user is still there and registers', async () => {
    const wall = movableClock();
    const d = (daemons = new Daemons(wall.clock));
    const a = await d.start(d.config('a'));
    const b = await d.addPeer(a, 'b');
    const c = await d.addPeer(a, 'c');
    const admin = { domain: 'localhost', dataDir: a.config.dataDir, httpPort: a.ports.http };
    for (const aor of [...USERS, CONTROL]) await addUser(admin, { aor, password: `${aor}-pw` });
    expect(await (await client(CONTROL, b)).register({ expires: 3600 })).toBe(200);
    expect(await b.node.get(CONTROL, RecordKind.BINDING)).toHaveLength(1);

    // The adder leaves (its zone and records handed over) and its directory is deleted: nothing of it is left.
    await a.leave();
    d.handles.splice(d.handles.indexOf(a), 1);
    rmSync(a.config.dataDir, { recursive: true, force: true });
    await waitFor(() => (b.status().volume + c.status().volume === 1 ? true : undefined), {
      what: 'b and c holding the whole space',
      timeoutMs: 20_000,
      intervalMs: 100,
    });

    wall.skip(TWO_DAYS_MS);
    // The days passed for the stores: the control's hour-long binding expired.
    expect(await b.node.get(CONTROL, RecordKind.BINDING)).toEqual([]);
    for (const aor of USERS)
      for (const at of [b, c]) expect([aor, await (await client(aor, at)).register()]).toEqual([aor, 200]);

    // Both restarted from disk, two days later on the wall clock too: credentials (no lifetime) are loaded, the
    // binding registered before the jump (an hour's wall-clock expiry) is not.
    await d.kill(b);
    await d.kill(c);
    for (const c0 of clients.splice(0)) c0.close();
    const b2 = await d.restart(b);
    const c2 = await d.restart(c);
    expect(d.logs.get(b2)?.join('')).toContain('resuming overlay');
    await waitFor(
      () =>
        b2.node.neighbours().every((n) => n.linked) && c2.node.neighbours().length > 0 ? true : undefined,
      {
        what: 'b and c linked again',
        timeoutMs: 30_000,
        intervalMs: 100,
      },
    );
    expect(await c2.node.get(CONTROL, RecordKind.BINDING)).toEqual([]);
    for (const aor of [...USERS, CONTROL])
      expect([aor, await (await client(aor, c2)).register()]).toEqual([aor, 200]);
    const bob = await client('sip:bob@localhost', b2);
    expect(await bob.register()).toBe(200);
    expect(await (await client('sip:alice@localhost', c2)).call('sip:bob@localhost')).toEqual({
      invite: 200,
      bye: 200,
    });
  }, 120_000);
});
