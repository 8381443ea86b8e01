import { createDefaultInvitePolicy, OverlayNode, type InviteCandidate, type InvitePolicy } from '@xpp/dht';
import { FakeClock } from '@xpp/reliability/testing';
import { SessionError } from '@xpp/session-sdp';
import { afterEach, describe, expect, it } from 'vitest';
import { registerAsCandidate } from '../src/sip/candidate.js';
import { DEFAULT_INVITE_BACKOFF_MS, Invitations } from '../src/sip/invitations.js';
import { TestOverlay } from './sipp/overlay.js';

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of cleanup.splice(0).reverse()) await close();
});

/** Any attached client with +sip.xpp-peer is invited at once. */
const eager = createDefaultInvitePolicy({ maxClients: 0, minStableFlowMs: 0 });

describe('the spec §7 invite policy, running', () => {
  it('a candidate registered with +sip.xpp-peer is invited and becomes a peer on its own (join --via)', async () => {
    const overlay = await TestOverlay.start(1, { invitePolicy: eager, inviteIntervalMs: 50 });
    cleanup.push(() => overlay.close());
    const peer = overlay.peers[0]!;
    await overlay.addUser('candidate', 'secret');
    const candidate = await OverlayNode.create({ dimensions: 2 });
    cleanup.push(() => candidate.close());
    const invited: string[] = [];
    peer.front.on('invited', (e) => invited.push(`${e.peerId ?? ''} ${e.error?.message ?? 'ok'}`));
    const result = await registerAsCandidate(candidate, `127.0.0.1:${peer.sip.port}`, {
      aor: 'sip:candidate@localhost',
      password: 'secret',
      signal: AbortSignal.timeout(20_000),
    });
    expect(result.registrations).toBeGreaterThanOrEqual(1);
    expect(candidate.state).toBe('peer');
    expect(invited).toEqual([`${candidate.id} ok`]);
    expect(OverlayNode.tiling([peer.node, candidate]).ok).toBe(true);
  });

  it('a candidate refreshes its registration before it expires while it waits', async () => {
    let refreshes = 0;
    // Invites only once the candidate has registered twice (a refresh came).
    const patient: InvitePolicy = (_load, candidates) => (refreshes >= 2 ? candidates[0] : undefined);
    const overlay = await TestOverlay.start(1, {
      invitePolicy: patient,
      inviteIntervalMs: 50,
      expiry: { minExpires: 1 },
    });
    cleanup.push(() => overlay.close());
    const peer = overlay.peers[0]!;
    peer.front.on('registered', () => refreshes++);
    await overlay.addUser('candidate', 'secret');
    const candidate = await OverlayNode.create({ dimensions: 2 });
    cleanup.push(() => candidate.close());
    const result = await registerAsCandidate(candidate, peer.sip, {
      aor: 'sip:candidate@localhost',
      password: 'secret',
      expires: 1,
      signal: AbortSignal.timeout(20_000),
    });
    expect(result.registrations).toBeGreaterThanOrEqual(2);
    expect(candidate.state).toBe('peer');
  });

  it('registerAsCandidate rejects on a refused registration and on its signal', async () => {
    const overlay = await TestOverlay.start(1);
    cleanup.push(() => overlay.close());
    const candidate = await OverlayNode.create({ dimensions: 2 });
    cleanup.push(() => candidate.close());
    const via = overlay.peers[0]!.sip;
    await expect(
      registerAsCandidate(candidate, via, { aor: 'sip:candidate@localhost', password: 'x' }),
    ).rejects.toMatchObject({ code: 'NOT_RUNNING' });
    await overlay.addUser('candidate', 'secret');
    const controller = new AbortController();
    const waiting = registerAsCandidate(candidate, via, {
      aor: 'sip:candidate@localhost',
      password: 'secret',
      signal: controller.signal,
    });
    controller.abort();
    await expect(waiting).rejects.toSatisfy((e) => SessionError.is(e, 'ABORTED'));
    expect(() => registerAsCandidate(candidate, 'nowhere', { aor: 'sip:c@localhost' })).toThrow(/host:port/);
  });
});

describe('Invitations (pure, fake clock)', () => {
  const candidate = (id: string, flowSince = 0): InviteCandidate => ({ id, xppPeer: true, flowSince });

  it('invites one at a time, never twice, and backs off after a failure', async () => {
    const clock = new FakeClock();
    const attempts: string[] = [];
    let fail = true;
    let release: (() => void) | undefined;
    const invitations = new Invitations({
      policy: eager,
      clock,
      load: () => ({ records: 0, clients: 1, requestRate: 0 }),
      candidates: () => [candidate('sip:a@127.0.0.1:1')],
      invite: (c) => {
        attempts.push(c.id);
        if (fail) return Promise.reject(new Error('480'));
        return new Promise((resolve) => (release = () => resolve('feed')));
      },
      onResult: () => undefined,
    });
    await invitations.evaluate();
    expect(attempts).toHaveLength(1);
    await invitations.evaluate(); // within the backoff: nobody
    expect(attempts).toHaveLength(1);
    clock.advance(DEFAULT_INVITE_BACKOFF_MS);
    fail = false;
    const running = invitations.evaluate();
    expect(invitations.busy).toBe(true);
    await invitations.evaluate(); // one at a time
    expect(attempts).toHaveLength(2);
    release?.();
    await running;
    clock.advance(10 * DEFAULT_INVITE_BACKOFF_MS);
    await invitations.evaluate(); // already a peer: never invited again
    expect(attempts).toHaveLength(2);
  });
});
