import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hashKey, Zone } from '@xpp/can';
import { waitFor } from '@xpp/reliability/testing';
import { DemoSipClient } from '../../src/cli/demo/sip-client.js';
import { invitePeer } from '../../src/cli/peer-commands.js';
import { loadIdentity } from '../../src/membership/files.js';
import type { NodeStatus } from '../../src/status.js';
import { NodeProcess } from './node-process.js';

export type Ports = { sip: number; xpp: number; http: number };

export const status = async (http: number): Promise<NodeStatus> =>
  (await (await fetch(`http://127.0.0.1:${http}/status`)).json()) as NodeStatus;

/** The process's ports once its `/healthz` answers 200 (a peer that serves). */
export async function serving(p: NodeProcess, timeoutMs = 30_000): Promise<Ports> {
  const ports = await p.ports();
  await waitFor(
    async () => ((await fetch(`http://127.0.0.1:${ports.http}/healthz`)).status === 200 ? true : undefined),
    { what: 'a peer serving', timeoutMs, intervalMs: 100 },
  );
  return ports;
}

/** AORs `sip:<prefix>N@localhost` whose point lies in `zones` (paths of a 2-dimensional overlay), `count` of them. */
export function aorsIn(zones: readonly string[], prefix: string, count: number): string[] {
  const within = zones.map((path) => Zone.fromPath(2, path));
  const found: string[] = [];
  for (let i = 0; found.length < count; i++) {
    const aor = `sip:${prefix}${i}@localhost`;
    if (within.some((z) => z.contains(hashKey(aor, 2)))) found.push(aor);
  }
  return found;
}

/** The SIP clients a test registers with (one per REGISTER), closed together after it. */
export class Registrations {
  readonly #clients: DemoSipClient[] = [];

  /** A client of `aor` at the peer `at`, closed with the others. */
  async client(aor: string, password: string, at: Ports): Promise<DemoSipClient> {
    const client = await DemoSipClient.open({ aor, password, peer: { address: '127.0.0.1', port: at.sip } });
    this.#clients.push(client);
    return client;
  }

  /** REGISTERs `aor` for an hour at the peer `at`; resolves with the final status. */
  async register(aor: string, password: string, at: Ports): Promise<number> {
    return (await this.client(aor, password, at)).register({ expires: 3600 });
  }

  closeAll(): void {
    for (const c of this.#clients.splice(0)) c.close();
  }
}

/**
 * An overlay of `xpp-node` processes in a scratch directory: `a` founds it (the administrator's host), the others
 * join with a token through `a`; each restarts with plain `start` on the ports it had (its neighbours persisted
 * its SIP URI). Every process started is in {@link procs} (the test kills them after).
 */
export class ProcessOverlay {
  readonly base = mkdtempSync(join(tmpdir(), 'xpp-overlay-'));
  readonly procs: NodeProcess[] = [];
  readonly ports = new Map<string, Ports>();
  readonly running = new Map<string, NodeProcess>();
  readonly #config = join(this.base, 'node.json');
  #adminKey = '';

  constructor(config: object = {}) {
    writeFileSync(
      this.#config,
      JSON.stringify({
        dimensions: 2,
        invitePolicy: { maxClients: 0, minStableFlowMs: 0, intervalMs: 100 },
        ...config,
      }),
    );
  }

  dir(name: string): string {
    return join(this.base, name);
  }

  /** Makes identity keys for `name` until its peer id is one `accept` takes (a test that needs an id order). */
  pickIdentity(name: string, accept: (id: string) => boolean): void {
    for (;;) {
      rmSync(this.dir(name), { recursive: true, force: true });
      if (accept((loadIdentity(this.dir(name), { create: true }) as { id: string }).id)) return;
    }
  }

  /** What the CLI's user commands take to reach the administrator's node `a`. */
  get admin(): { domain: string; dataDir: string; httpPort: number } {
    return { domain: 'localhost', dataDir: this.dir('a'), httpPort: (this.ports.get('a') as Ports).http };
  }

  #spawn(name: string, args: readonly string[]): NodeProcess {
    const old = this.ports.get(name);
    const p = new NodeProcess([
      ...args,
      '--data-dir',
      this.dir(name),
      '--config',
      this.#config,
      '--http-port',
      '0',
      '--sip-port',
      String(old?.sip ?? 0),
      '--xpp-port',
      String(old?.xpp ?? 0),
    ]);
    this.procs.push(p);
    this.running.set(name, p);
    return p;
  }

  async #serve(name: string, p: NodeProcess): Promise<Ports> {
    const ports = await serving(p);
    this.ports.set(name, ports);
    return ports;
  }

  /** `a`: founds the overlay. */
  async found(): Promise<Ports> {
    const ports = await this.#serve('a', this.#spawn('a', ['start']));
    this.#adminKey = readFileSync(join(this.dir('a'), 'admin.pub'), 'utf8').trim();
    return ports;
  }

  /** `name` joins through `a` with a one-day token. */
  async join(name: string): Promise<Ports> {
    const { text: token } = await invitePeer(this.admin, { days: 1 });
    const a = this.ports.get('a') as Ports;
    const args = [
      'join',
      '--via',
      `127.0.0.1:${a.sip}`,
      '--token',
      token,
      '--admin-public-key',
      this.#adminKey,
    ];
    return this.#serve(name, this.#spawn(name, args));
  }

  /** `name` started again from its data directory, on its ports; resolves once it serves. */
  restart(name: string): Promise<Ports> {
    return this.#serve(name, this.relaunch(name));
  }

  /** `name` started again from its data directory, on its ports, not waited for (it may exit by itself). */
  relaunch(name: string): NodeProcess {
    return this.#spawn(name, ['start', '--admin-public-key', this.#adminKey]);
  }

  /** kill -9 of `name`, resolved once it is gone. */
  async kill(name: string): Promise<void> {
    const p = this.running.get(name);
    if (p === undefined) return;
    this.running.delete(name);
    p.kill();
    await p.exited;
  }

  /** Every running peer's /status, once all name one overlay id, tile the space and are linked to every neighbour. */
  formed(timeoutMs = 60_000): Promise<Map<string, NodeStatus>> {
    return waitFor(
      async () => {
        const names = [...this.running.keys()];
        const all = await Promise.all(names.map((n) => status((this.ports.get(n) as Ports).http)));
        const overlays = new Set(all.map((s) => s.overlayId));
        const peers = new Set(all.map((s) => s.peerId));
        const volume = all.reduce((sum, s) => sum + s.volume, 0);
        // No neighbour but running peers (a dead one dropped), each linked.
        const ok =
          overlays.size === 1 &&
          !overlays.has(undefined) &&
          Math.abs(volume - 1) < 1e-9 &&
          all.every(
            (s) =>
              s.state === 'peer' &&
              (names.length === 1 || s.neighbours.length > 0) &&
              s.neighbours.every((n) => n.linked && peers.has(n.id)),
          );
        return ok ? new Map(names.map((n, i) => [n, all[i] as NodeStatus])) : undefined;
      },
      { what: 'the overlay formed', timeoutMs, intervalMs: 250 },
    );
  }

  killAll(): void {
    for (const p of this.procs) p.kill();
  }
}
