import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { PeerIdentity } from '@xpp/dht';
import { formatHost } from '@xpp/session-sdp';
import { waitFor } from '@xpp/reliability/testing';
import { certifyPeer } from '../../src/cli/peer-commands.js';
import { addUser } from '../../src/cli/user-add.js';
import { configSchema, type NodeConfig, type NodeConfigInput } from '../../src/config.js';
import { startNode, type NodeHandle } from '../../src/daemon.js';
import { createLogger } from '../../src/logger.js';
import { loadIdentity } from '../../src/membership/files.js';
import { NodeMetrics } from '../../src/metrics.js';

/** In-process daemons started by {@link start}; a test file closes them after each test. */
export const handles: NodeHandle[] = [];

const quiet = new Writable({ write: (_chunk, _encoding, done) => done() });

export function config(dataDir: string, extra: NodeConfigInput = {}): NodeConfig {
  return configSchema.parse({
    sipPort: 0,
    xppPort: 0,
    httpPort: 0,
    dimensions: 2,
    dataDir,
    invitePolicy: { maxClients: 0, minStableFlowMs: 0 },
    ...extra,
  });
}

/** Starts a daemon in this process; its log goes to `log` when given, else nowhere. */
export async function start(c: NodeConfig, log?: string[]): Promise<NodeHandle> {
  const destination =
    log === undefined
      ? quiet
      : new Writable({
          write: (chunk, _encoding, done) => {
            log.push(String(chunk));
            done();
          },
        });
  const handle = await startNode(c, {
    logger: createLogger({ logLevel: 'info' }, { pretty: false, destination }),
    metrics: new NodeMetrics({ processMetrics: false }),
  });
  handles.push(handle);
  return handle;
}

export const scratch = (): string => mkdtempSync(join(tmpdir(), 'xpp-daemon-'));

/**
 * A candidate in `<dir>/<name>` registered with `first` as `sip:peer-<name>@localhost` (not yet invited), bound
 * where `first` is.
 */
export async function candidateOf(first: NodeHandle, dir: string, name: string): Promise<NodeHandle> {
  await addUser(
    { domain: 'localhost', dataDir: first.config.dataDir, httpPort: first.ports.http },
    { aor: `sip:peer-${name}@localhost`, password: `pw-${name}` },
  );
  // Certified by hand, as an operator with an air-gapped key would (peer show → peer certify → peer.cert).
  const identity = loadIdentity(join(dir, name), { create: true }) as PeerIdentity;
  certifyPeer(first.config, Buffer.from(identity.publicKey).toString('hex'), {
    out: join(dir, name, 'peer.cert'),
  });
  return start(
    config(join(dir, name), {
      host: first.config.host,
      joinVia: `${formatHost(first.config.host)}:${first.ports.sip}`,
      joinAor: `sip:peer-${name}@localhost`,
      joinPassword: `pw-${name}`,
      adminPublicKey: first.keys.adminPublicKeyHex,
    }),
  );
}

/** A first peer (in `<dir>/a`, bound to `host`) and a candidate `b` registered with it. */
export async function firstAndCandidate(
  dir: string,
  host?: string,
): Promise<{ first: NodeHandle; candidate: NodeHandle }> {
  const first = await start(config(join(dir, 'a'), host === undefined ? {} : { host }));
  return { first, candidate: await candidateOf(first, dir, 'b') };
}

/** Asks the first peer's invite policy once the candidate is registered (the policy's own timer is slower). */
export async function invite(first: NodeHandle, candidate: NodeHandle): Promise<void> {
  await waitFor(() => (first.front.stats.clients > 0 ? true : undefined), {
    what: 'a registered candidate',
    timeoutMs: 20_000,
    intervalMs: 50,
  });
  await first.front.evaluateInvitePolicy();
  await candidate.ready;
}
