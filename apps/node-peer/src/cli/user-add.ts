import type { KeyObject } from 'node:crypto';
import { createCredential, encodeCredential, signCredential } from '@xpp/dht';
import { signAdminRequest } from '../admin-auth.js';
import type { NodeConfig } from '../config.js';
import { loadAdminPrivateKey } from '../data-dir.js';
import { NodeError } from '../errors.js';
import { ADMIN_CREDENTIALS_PATH } from '../http-server.js';

export interface UserAddInput {
  readonly aor: string;
  readonly password: string;
  readonly username?: string;
  /** Keep an MD5 secret for old clients too. Default true. */
  readonly md5?: boolean;
  /** The node's HTTP base URL; default the local node (`http://127.0.0.1:<httpPort>`). */
  readonly via?: string;
}

/** Where the admin endpoints of the node named by `via` (or the local one, at its HTTP host) are. */
export function nodeUrl(
  config: Pick<NodeConfig, 'httpPort'> & Partial<Pick<NodeConfig, 'httpHost'>>,
  via: string | undefined,
): string {
  const host = config.httpHost ?? '127.0.0.1';
  // A wildcard bind is reached on loopback; an IPv6 literal goes in brackets.
  const local = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
  const base = via ?? `http://${local}:${config.httpPort}`;
  return /^https?:\/\//.test(base) ? base.replace(/\/+$/, '') : `http://${base}`;
}

/** What a node answered to a signed admin request: its status and JSON body. */
export interface AdminAnswer {
  readonly status: number;
  readonly body: Record<string, unknown>;
}

/**
 * Posts `payload`, signed with the administrator key (timestamp and nonce: taken once), to the admin endpoint
 * `path` of the node named by `via` (default the local one); resolves with whatever it answered. `NodeError`
 * `NOT_RUNNING` when nothing answers within `timeoutMs`.
 */
export async function requestAdmin(
  config: Pick<NodeConfig, 'httpPort'> & Partial<Pick<NodeConfig, 'httpHost'>>,
  via: string | undefined,
  path: string,
  payload: Uint8Array,
  adminKey: KeyObject,
  timeoutMs = 30_000,
): Promise<AdminAnswer> {
  const url = `${nodeUrl(config, via)}${path}`;
  let res: Response;
  try {
    res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(signAdminRequest(path, Buffer.from(payload).toString('hex'), adminKey)),
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (cause) {
    throw new NodeError('NOT_RUNNING', `no node answers at ${url}: ${(cause as Error).message}`, { cause });
  }
  const body = (await res.json().catch(() => ({}))) as Record<string, unknown>;
  return { status: res.status, body };
}

/**
 * {@link requestAdmin} that wants a 201: resolves with its body, `NodeError` `REFUSED` with the node's reason
 * otherwise.
 */
export async function postAdmin(
  config: Pick<NodeConfig, 'httpPort'> & Partial<Pick<NodeConfig, 'httpHost'>>,
  via: string | undefined,
  path: string,
  payload: Uint8Array,
  adminKey: KeyObject,
  what: string,
  timeoutMs?: number,
): Promise<Record<string, unknown>> {
  const { status, body } = await requestAdmin(config, via, path, payload, adminKey, timeoutMs);
  if (status !== 201) {
    throw new NodeError('REFUSED', `the node refused ${what} (${status}): ${String(body['error'])}`);
  }
  return body;
}

/**
 * `xpp-node user add`: a CREDENTIAL for `aor` (digest secrets for the overlay's domain as realm, serial = seconds
 * now so a later change wins) signed with the administrator key of the data directory, stored through a running
 * node's local admin endpoint.
 */
export async function addUser(
  config: Pick<NodeConfig, 'domain' | 'dataDir' | 'httpPort'> & Partial<Pick<NodeConfig, 'httpHost'>>,
  input: UserAddInput,
): Promise<{ aor: string; username: string; realm: string; serial: number }> {
  const credential = await postCredential(config, input.via, loadAdminPrivateKey(config.dataDir), {
    aor: input.aor,
    realm: config.domain,
    password: input.password,
    serial: Math.floor(Date.now() / 1000),
    ...(input.username === undefined ? {} : { username: input.username }),
    ...(input.md5 === undefined ? {} : { md5: input.md5 }),
  });
  return {
    aor: credential.aor,
    username: credential.username,
    realm: credential.realm,
    serial: credential.serial,
  };
}

/** Signs a credential with the administrator key and stores it through the node's admin endpoint. */
export async function postCredential(
  config: Parameters<typeof postAdmin>[0],
  via: string | undefined,
  adminKey: KeyObject,
  fields: Parameters<typeof createCredential>[0],
): Promise<ReturnType<typeof signCredential>> {
  const credential = signCredential(createCredential(fields), adminKey);
  await postAdmin(
    config,
    via,
    ADMIN_CREDENTIALS_PATH,
    encodeCredential(credential),
    adminKey,
    'the credential',
  );
  return credential;
}
