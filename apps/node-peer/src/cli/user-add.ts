import { createCredential, encodeCredential, signCredential } from '@xpp/dht';
import type { NodeConfig } from '../config.js';
import { loadAdminPrivateKey } from '../data-dir.js';
import { NodeError } from '../errors.js';

export interface UserAddInput {
  readonly aor: string;
  readonly password: string;
  readonly username?: string;
  /** Keep an MD5 secret for old clients too. Default true. */
  readonly md5?: boolean;
  /** The node's HTTP base URL; default the local node (`http://127.0.0.1:<httpPort>`). */
  readonly via?: string;
}

/** Where the admin endpoints of the node named by `via` (or the local one) are. */
export function nodeUrl(config: Pick<NodeConfig, 'httpPort'>, via: string | undefined): string {
  const base = via ?? `http://127.0.0.1:${config.httpPort}`;
  return /^https?:\/\//.test(base) ? base.replace(/\/+$/, '') : `http://${base}`;
}

/**
 * `xpp-node user add`: a CREDENTIAL for `aor` (digest secrets for the overlay's domain as realm, serial = seconds
 * now so a later change wins) signed with the administrator key of the data directory, stored through a running
 * node's local admin endpoint.
 */
export async function addUser(
  config: Pick<NodeConfig, 'domain' | 'dataDir' | 'httpPort'>,
  input: UserAddInput,
): Promise<{ aor: string; username: string; realm: string; serial: number }> {
  const adminKey = loadAdminPrivateKey(config.dataDir);
  const credential = signCredential(
    createCredential({
      aor: input.aor,
      realm: config.domain,
      password: input.password,
      serial: Math.floor(Date.now() / 1000),
      ...(input.username === undefined ? {} : { username: input.username }),
      ...(input.md5 === undefined ? {} : { md5: input.md5 }),
    }),
    adminKey,
  );
  const url = `${nodeUrl(config, input.via)}/admin/credentials`;
  let res: Response;
  try {
    res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ credential: Buffer.from(encodeCredential(credential)).toString('hex') }),
      signal: AbortSignal.timeout(30_000),
    });
  } catch (cause) {
    throw new NodeError('NOT_RUNNING', `no node answers at ${url}: ${(cause as Error).message}`, { cause });
  }
  const body = (await res.json().catch(() => ({}))) as Record<string, unknown>;
  if (res.status !== 201) {
    throw new NodeError(
      'REFUSED',
      `the node refused the credential (${res.status}): ${String(body['error'])}`,
    );
  }
  return {
    aor: credential.aor,
    username: credential.username,
    realm: credential.realm,
    serial: credential.serial,
  };
}
