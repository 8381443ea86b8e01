import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  bindingCodec,
  createCredential,
  encodeCredential,
  generateAdminKeyPair,
  RecordKind,
  signCredential,
  type PeerIdentity,
} from '@xpp/dht';
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '@xpp/reliability/testing';
import { signAdminRequest } from '../src/admin-auth.js';
import { DemoSipClient } from '../src/cli/demo/sip-client.js';
import { certifyPeer } from '../src/cli/peer-commands.js';
import { addUser } from '../src/cli/user-add.js';
import type { NodeConfig } from '../src/config.js';
import type { NodeHandle } from '../src/daemon.js';
import { DATA_FILES, loadAdminPrivateKey } from '../src/data-dir.js';
import { loadIdentity } from '../src/membership/files.js';
import { nodeConfig as config, startDaemon } from './support/daemon.js';

const handles: NodeHandle[] = [];
const clients: DemoSipClient[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await Promise.all(handles.splice(0).map((h) => h.close()));
});

const start = (c: NodeConfig, log?: string[]): Promise<NodeHandle> => startDaemon(c, handles, log);

const scratch = () => mkdtempSync(join(tmpdir(), 'xpp-daemon-'));

/** A first peer and a candidate registered with it as `sip:peer-b@localhost` (not yet invited). */
async function firstAndCandidate(dir: string): Promise<{ first: NodeHandle; candidate: NodeHandle }> {
  const first = await start(config(join(dir, 'a')));
  await addUser(
    { domain: 'localhost', dataDir: first.config.dataDir, httpPort: first.ports.http },
    { aor: 'sip:peer-b@localhost', password: 'pw-b' },
  );
  // Certified by hand, as an operator with an air-gapped key would (peer show → peer certify → peer.cert).
  const identity = loadIdentity(join(dir, 'b'), { create: true }) as PeerIdentity;
  certifyPeer(first.config, Buffer.from(identity.publicKey).toString('hex'), {
    out: join(dir, 'b', 'peer.cert'),
  });
  const candidate = await start(
    config(join(dir, 'b'), {
      joinVia: `127.0.0.1:${first.ports.sip}`,
      joinAor: 'sip:peer-b@localhost',
      joinPassword: 'pw-b',
      adminPublicKey: first.keys.adminPublicKeyHex,
    }),
  );
  return { first, candidate };
}

/** Asks the first peer's invite policy once the candidate is registered (the policy's own timer is slower). */
async function invite(first: NodeHandle, candidate: NodeHandle): Promise<void> {
  await waitFor(() => (first.front.stats.clients > 0 ? true : undefined), {
    what: 'a registered candidate',
    timeoutMs: 20_000,
    intervalMs: 50,
  });
  await first.front.evaluateInvitePolicy();
  await candidate.ready;
}

describe('startNode', () => {
  it('a first peer owns the whole space, serves /healthz and keeps its identity across restarts', async () => {
    const dir = scratch();
    const first = await start(config(dir));
    await first.ready;
    expect(first.node.state).toBe('peer');
    expect(first.status()).toMatchObject({ state: 'peer', zones: [''], volume: 1, domain: 'localhost' });
    expect((await fetch(`http://127.0.0.1:${first.ports.http}/healthz`)).status).toBe(200);
    const id = first.node.id;
    const key = first.keys.adminPublicKeyHex;
    await first.leave();
    expect(first.node.state).toBe('closed');
    const again = await start(config(dir));
    expect(again.node.id).toBe(id);
    expect(again.keys.adminPublicKeyHex).toBe(key);
  });

  it('keeps its records in <data-dir>/records.db across an abrupt stop; --memory keeps none', async () => {
    const aor = 'sip:dora@localhost';
    for (const store of ['disk', 'memory'] as const) {
      const dir = scratch();
      const first = await start(config(dir, { store }));
      // A binding's flow peer is the peer that writes it (spec §5.6).
      const value = bindingCodec.encode({
        instanceId: 'urn:uuid:1',
        regId: 1,
        contact: 'sip:dora@192.0.2.7:5060',
        flowPeer: first.node.peerId,
      });
      await first.node.put(aor, RecordKind.BINDING, value, 600);
      await first.close(); // no LEAVE: as a kill or a power cut leaves it
      const again = await start(config(dir, { store }));
      expect((await again.node.get(aor, RecordKind.BINDING)).length, store).toBe(store === 'disk' ? 1 : 0);
      expect(existsSync(join(dir, DATA_FILES.records)), store).toBe(store === 'disk');
    }
  });

  it('refuses to start on a damaged record store, naming the file', async () => {
    const dir = scratch();
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, DATA_FILES.records), Buffer.alloc(4096, 0x42));
    await expect(start(config(dir))).rejects.toMatchObject({
      code: 'STORE_CORRUPT',
      message: expect.stringContaining(join(dir, DATA_FILES.records)),
    });
  });

  it('stores only credentials signed by the administrator, and republishes them at the next start', async () => {
    const dir = scratch();
    const first = await start(config(dir));
    const added = await addUser(
      { domain: 'localhost', dataDir: dir, httpPort: first.ports.http },
      { aor: 'sip:carol@localhost', password: 'pw' },
    );
    expect(added).toMatchObject({ aor: 'sip:carol@localhost', username: 'carol', realm: 'localhost' });
    expect(await first.node.get('sip:carol@localhost', RecordKind.CREDENTIAL)).toHaveLength(1);

    const forged = signCredential(
      createCredential({ aor: 'sip:mallory@localhost', realm: 'localhost', password: 'x' }),
      generateAdminKeyPair().privateKey,
    );
    const res = await fetch(`http://127.0.0.1:${first.ports.http}/admin/credentials`, {
      method: 'POST',
      // A well-formed signed request (the administrator key of the data directory) carrying a forged credential.
      body: JSON.stringify(
        signAdminRequest(
          '/admin/credentials',
          Buffer.from(encodeCredential(forged)).toString('hex'),
          loadAdminPrivateKey(dir),
        ),
      ),
    });
    expect(res.status).toBe(403);
    expect(await first.node.get('sip:mallory@localhost', RecordKind.CREDENTIAL)).toHaveLength(0);

    await first.close();
    const restarted = await start(config(dir));
    await waitFor(
      async () =>
        (await restarted.node.get('sip:carol@localhost', RecordKind.CREDENTIAL)).length === 1
          ? true
          : undefined,
      { what: 'the credential republished', timeoutMs: 20_000, intervalMs: 50 },
    );
  });

  it('a candidate started with joinVia answers /healthz 503 until the live invite policy makes it a peer', async () => {
    const { first, candidate } = await firstAndCandidate(scratch());
    expect(candidate.node.state).toBe('candidate');
    expect((await fetch(`http://127.0.0.1:${candidate.ports.http}/healthz`)).status).toBe(503);
    await invite(first, candidate);
    expect(candidate.node.state).toBe('peer');
    expect((await fetch(`http://127.0.0.1:${candidate.ports.http}/healthz`)).status).toBe(200);
    expect([...first.status().zones, ...candidate.status().zones].sort()).toEqual(['0', '1']);
    expect(candidate.status().neighbours.map((n) => n.id)).toEqual([first.node.id]);
  });

  it('registers users with digest at different peers and proxies a call between them', async () => {
    const { first, candidate: second } = await firstAndCandidate(scratch());
    await invite(first, second);
    const admin = { domain: 'localhost', dataDir: first.config.dataDir, httpPort: first.ports.http };
    await addUser(admin, { aor: 'sip:alice@localhost', password: 'alice-pw' });
    await addUser(admin, { aor: 'sip:bob@localhost', password: 'bob-pw' });
    const alice = await DemoSipClient.open({
      aor: 'sip:alice@localhost',
      password: 'alice-pw',
      peer: { address: '127.0.0.1', port: first.ports.sip },
    });
    const bob = await DemoSipClient.open({
      aor: 'sip:bob@localhost',
      password: 'bob-pw',
      peer: { address: '127.0.0.1', port: second.ports.sip },
    });
    clients.push(alice, bob);
    const wrong = await DemoSipClient.open({
      aor: 'sip:alice@localhost',
      password: 'guess',
      peer: { address: '127.0.0.1', port: first.ports.sip },
    });
    clients.push(wrong);
    expect(await wrong.register()).toBe(401);
    expect(await alice.register()).toBe(200);
    expect(await bob.register()).toBe(200);
    expect(await alice.call('sip:bob@localhost')).toEqual({ invite: 200, bye: 200 });
    expect([...bob.answered.values()]).toEqual([{ ended: true }]);
    expect(await alice.call('sip:nobody@localhost')).toMatchObject({ invite: 480 });

    // The front's and the node's figures reach /metrics at each scrape.
    const metrics = await (await fetch(`http://127.0.0.1:${first.ports.http}/metrics`)).text();
    expect(metrics).toMatch(/^sip_registrations_total\{result="ok"\} [1-9]/m);
    expect(metrics).toMatch(/^sip_registrations_total\{result="auth-failed"\} 1$/m);
    expect(metrics).toMatch(/^sip_bindings 1$/m);
    expect(metrics).toMatch(/^sip_proxied_total [1-9]/m);
    expect(metrics).toMatch(/^xpp_overlay_neighbours 1$/m);
    expect(metrics).toMatch(/^xpp_overlay_events_total\{event="neighbour-up"\} 1$/m);
    expect(metrics).toMatch(/^xpp_overlay_requests_by_hops_total\{hops="[01]"\} [1-9]/m);
    // The session to the one neighbour has carried requests: it has an RTT estimate.
    expect(metrics).toMatch(/^xpp_session_srtt_seconds\{peer="[0-9a-f]{16}"\} \d/m);
    expect(metrics).toMatch(/^xpp_session_retransmits\{peer="[0-9a-f]{16}"\} \d+$/m);
  });
});

describe('overlay id across restarts (spec xpp-pcan §4: never a silent fork)', () => {
  it('a fresh directory founds and logs it; the only peer restarted resumes: same id, zone and records', async () => {
    const dir = scratch();
    const log: string[] = [];
    const first = await start(config(dir), log);
    const overlayId = first.node.overlayId;
    expect(overlayId).toMatch(/^[0-9a-f]{32}$/);
    expect(log.join('')).toContain(`founding overlay ${overlayId as string}`);
    expect(first.status().overlayId).toBe(overlayId);
    const value = bindingCodec.encode({
      instanceId: 'urn:uuid:2',
      regId: 1,
      contact: 'sip:erin@192.0.2.8:5060',
      flowPeer: first.node.peerId,
    });
    await first.node.put('sip:erin@localhost', RecordKind.BINDING, value, 600);
    await first.close(); // as a kill leaves it
    const again = await start(config(dir), log);
    expect(again.node.overlayId).toBe(overlayId);
    expect(again.status()).toMatchObject({ overlayId, zones: [''] });
    expect(await again.node.get('sip:erin@localhost', RecordKind.BINDING)).toHaveLength(1);
    expect(log.join('')).toContain('resuming overlay');
  });

  it('a peer of a 2-peer overlay restarted does not found one: refused alone, keeps its id to rejoin', async () => {
    const dir = scratch();
    const { first, candidate } = await firstAndCandidate(dir);
    await invite(first, candidate);
    const overlayId = first.node.overlayId;
    expect(candidate.status().overlayId).toBe(overlayId);
    const bConfig = candidate.config;
    await candidate.close();
    handles.splice(handles.indexOf(candidate), 1);
    // `start` of its directory would fork the overlay: refused, saying how to rejoin.
    await expect(
      start(config(bConfig.dataDir, { adminPublicKey: first.keys.adminPublicKeyHex })),
    ).rejects.toMatchObject({
      code: 'OVERLAY_FORK',
      message: expect.stringContaining('join --via') as string,
    });
    // `join --via`: a candidate that keeps its overlay id, so it takes an invitation of its own overlay only.
    const back = await start({ ...bConfig, joinVia: `127.0.0.1:${first.ports.sip}` });
    expect(back.node.state).toBe('candidate');
    expect(back.node.overlayId).toBe(overlayId);
  });

  it('--new-overlay founds a new overlay from a directory that was in one, and logs it', async () => {
    const dir = scratch();
    const { first, candidate } = await firstAndCandidate(dir);
    await invite(first, candidate);
    const old = first.node.overlayId;
    const bConfig = candidate.config;
    await candidate.close();
    handles.splice(handles.indexOf(candidate), 1);
    const log: string[] = [];
    const forked = await start(
      config(bConfig.dataDir, { adminPublicKey: first.keys.adminPublicKeyHex, newOverlay: true }),
      log,
    );
    expect(forked.node.overlayId).not.toBe(old);
    expect(forked.status().zones).toEqual(['']);
    expect(log.join('')).toContain(`--new-overlay: founding overlay ${forked.node.overlayId as string}`);
  });
});
