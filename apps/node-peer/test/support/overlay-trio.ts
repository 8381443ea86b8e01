import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { PeerIdentity } from '@xpp/dht';
import type { Clock } from '@xpp/reliability';
import { waitFor } from '@xpp/reliability/testing';
import { certifyPeer } from '../../src/cli/peer-commands.js';
import { addUser } from '../../src/cli/user-add.js';
import { configSchema, type NodeConfig, type NodeConfigInput } from '../../src/config.js';
import { startNode, type NodeHandle } from '../../src/daemon.js';
import { createLogger } from '../../src/logger.js';
import { loadIdentity } from '../../src/membership/files.js';
import { NodeMetrics } from '../../src/metrics.js';

/** In-process daemons over real UDP on 127.0.0.1, each with its log lines kept (for what a restart logs). */
export class Daemons {
  readonly handles: NodeHandle[] = [];
  readonly logs = new Map<NodeHandle, string[]>();
  readonly dir = mkdtempSync(join(tmpdir(), 'xpp-rejoin-'));

  /** `clock`: every daemon's time and timers (default the system clock). */
  constructor(readonly clock?: Clock) {}

  config(name: string, extra: NodeConfigInput = {}): NodeConfig {
    return configSchema.parse({
      sipPort: 0,
      xppPort: 0,
      httpPort: 0,
      dimensions: 2,
      dataDir: join(this.dir, name),
      invitePolicy: { maxClients: 0, minStableFlowMs: 0 },
      ...extra,
    });
  }

  async start(config: NodeConfig): Promise<NodeHandle> {
    const lines: string[] = [];
    const destination = new Writable({
      write: (chunk, _encoding, done) => {
        lines.push(String(chunk));
        done();
      },
    });
    const handle = await startNode(config, {
      logger: createLogger({ logLevel: 'info' }, { pretty: false, destination }),
      metrics: new NodeMetrics({ processMetrics: false }),
      ...(this.clock === undefined ? {} : { clock: this.clock }),
    });
    this.handles.push(handle);
    this.logs.set(handle, lines);
    return handle;
  }

  /** Starts `config` again on the ports `before` had (its neighbours persisted its SIP URI): a restarted process. */
  restart(before: NodeHandle): Promise<NodeHandle> {
    return this.start({ ...before.config, sipPort: before.ports.sip, xppPort: before.ports.xpp });
  }

  /** Stops `handle` as a kill leaves it: no LEAVE, the data directory as it was. */
  async kill(handle: NodeHandle): Promise<void> {
    await handle.close();
    this.handles.splice(this.handles.indexOf(handle), 1);
  }

  /** A certified peer `name` invited into the overlay of `first` through `via`. */
  async addPeer(first: NodeHandle, name: string, via: NodeHandle = first): Promise<NodeHandle> {
    const aor = `sip:peer-${name}@localhost`;
    await addUser(
      { domain: 'localhost', dataDir: first.config.dataDir, httpPort: first.ports.http },
      { aor, password: `pw-${name}` },
    );
    const identity = loadIdentity(join(this.dir, name), { create: true }) as PeerIdentity;
    certifyPeer(first.config, Buffer.from(identity.publicKey).toString('hex'), {
      out: join(this.dir, name, 'peer.cert'),
    });
    const candidate = await this.start(
      this.config(name, {
        joinVia: `127.0.0.1:${via.ports.sip}`,
        joinAor: aor,
        joinPassword: `pw-${name}`,
        adminPublicKey: first.keys.adminPublicKeyHex,
      }),
    );
    await waitFor(() => (via.front.stats.clients > 0 ? true : undefined), {
      what: `candidate ${name} registered`,
      timeoutMs: 20_000,
      intervalMs: 50,
    });
    await via.front.evaluateInvitePolicy();
    await candidate.ready;
    return candidate;
  }

  async closeAll(): Promise<void> {
    await Promise.all(this.handles.splice(0).map((h) => h.close()));
  }
}
