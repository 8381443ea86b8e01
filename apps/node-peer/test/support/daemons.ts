import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PeerIdentity } from '@xpp/dht';
import { formatHost } from '@xpp/session-sdp';
import { waitFor } from '@xpp/reliability/testing';
import { certifyPeer } from '../../src/cli/peer-commands.js';
import { addUser } from '../../src/cli/user-add.js';
import type { NodeConfig, NodeConfigInput } from '../../src/config.js';
import type { NodeHandle } from '../../src/daemon.js';
import { nodeConfig, startDaemon } from './daemon.js';
import { loadIdentity } from '../../src/membership/files.js';

/** In-process daemons started by {@link start}; a test file closes them after each test. */
export const handles: NodeHandle[] = [];

export const config = nodeConfig;

/** Starts a daemon in this process ({@link handles}); its log goes to `log` when given, else nowhere. */
export function start(c: NodeConfig, log?: string[]): Promise<NodeHandle> {
  return startDaemon(c, handles, log);
}

export const scratch = (): string => mkdtempSync(join(tmpdir(), 'xpp-daemon-'));

/**
 * A candidate in `<dir>/<name>` registered with `first` as `sip:peer-<name>@localhost` (not yet invited), bound
 * where `first` is, joining through `first`'s SIP address; `overrides` changes any of that.
 */
export async function candidateOf(
  first: NodeHandle,
  dir: string,
  name: string,
  overrides: NodeConfigInput = {},
): Promise<NodeHandle> {
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
      ...overrides,
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
