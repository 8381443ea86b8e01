import { createPublicKey } from 'node:crypto';
import {
  createExportGrant,
  decodeCredentialRecord,
  exportAdminPublicKey,
  openExport,
  verifyCredential,
  verifyCredentialRemoval,
  type AdminKeySet,
} from '@xpp/dht';
import type { NodeConfig } from '../config.js';
import { loadAdminPrivateKey } from '../data-dir.js';
import { NodeError } from '../errors.js';
import { ADMIN_CREDENTIALS_PATH, ADMIN_EXPORT_PATH, ADMIN_REMOVALS_PATH } from '../http-server.js';
import { adminKeySetOf, adminPublicKeysOf } from '../membership/files.js';
import { readBackup, writeBackup } from '../users/backup-file.js';
import { postAdmin, requestAdmin } from './user-add.js';

type DirectoryConfig = Pick<NodeConfig, 'domain' | 'dataDir' | 'httpPort'> &
  Partial<Pick<NodeConfig, 'httpHost' | 'adminPublicKey'>>;

/** How long the CLI waits for a node's walk of the overlay, ms (a grant is honoured 15 minutes). */
export const EXPORT_TIMEOUT_MS = 14 * 60_000;
/** Restore requests in flight at once. */
const RESTORE_CONCURRENCY = 8;

/** One AOR's newest administrator-signed record in the overlay. */
export interface OverlayUser {
  readonly aor: string;
  readonly serial: number;
  /** `removed`: a tombstone (the user was removed); its username is unknown. */
  readonly state: 'active' | 'removed';
  readonly username?: string;
  /** The signed CREDENTIAL value (holds HA1s when active). */
  readonly value: Uint8Array;
}

/** What a walk of the overlay found. */
export interface OverlayUsers {
  /** By AOR, sorted. */
  readonly users: readonly OverlayUser[];
  readonly owners: number;
  /** Records no accepted administrator key signed (dropped; an owner that sent them is misbehaving). */
  readonly unsigned: number;
  /** Parts of the key space whose owner did not answer: not empty = the list is incomplete. */
  readonly missed: readonly string[];
  /** Pages that did not open with this run's key (changed on the way, or a misbehaving owner): incomplete too. */
  readonly unreadable: number;
}

/** Every administrator key this data directory accepts, with the one of its `admin.key`. */
function acceptedAdmins(
  config: DirectoryConfig,
  adminKey: ReturnType<typeof loadAdminPrivateKey>,
): AdminKeySet {
  const own = Buffer.from(exportAdminPublicKey(createPublicKey(adminKey))).toString('hex');
  return adminKeySetOf([own, ...adminPublicKeysOf(config.dataDir, config.adminPublicKey)]);
}

/**
 * The overlay's users: an export grant signed with the administrator key goes to the node, which walks the overlay
 * (EXPORT-CREDENTIALS); the pages come back sealed to this run's one-time key, are opened here, and every record is
 * checked against the administrator keys before it counts. The newest serial per AOR wins.
 */
export async function exportUsers(config: DirectoryConfig, via?: string): Promise<OverlayUsers> {
  const adminKey = loadAdminPrivateKey(config.dataDir);
  const admins = acceptedAdmins(config, adminKey);
  const { grant, openKey } = createExportGrant(adminKey);
  const body = await postAdmin(
    config,
    via,
    ADMIN_EXPORT_PATH,
    grant,
    adminKey,
    'the export',
    EXPORT_TIMEOUT_MS,
  );
  const pages = Array.isArray(body['pages']) ? (body['pages'] as unknown[]) : [];
  const byAor = new Map<string, OverlayUser>();
  let unsigned = 0;
  let unreadable = 0;
  for (const page of pages) {
    let values: Uint8Array[];
    try {
      values = typeof page === 'string' ? openExport(new Uint8Array(Buffer.from(page, 'hex')), openKey) : [];
    } catch {
      unreadable += 1;
      continue;
    }
    for (const value of values) {
      let user: OverlayUser;
      try {
        const read = decodeCredentialRecord(value);
        if (read.type === 'credential') {
          const c = verifyCredential(value, admins);
          user = { aor: c.aor, serial: c.serial, state: 'active', username: c.username, value };
        } else if (read.type === 'removal') {
          const r = verifyCredentialRemoval(read.removal, admins);
          user = { aor: r.aor, serial: r.serial, state: 'removed', value };
        } else continue;
      } catch {
        unsigned += 1;
        continue;
      }
      const known = byAor.get(user.aor);
      if (known === undefined || known.serial < user.serial) byAor.set(user.aor, user);
    }
  }
  return {
    users: [...byAor.values()].sort((a, b) => (a.aor < b.aor ? -1 : a.aor > b.aor ? 1 : 0)),
    owners: Number(body['owners'] ?? 0),
    unsigned,
    missed: Array.isArray(body['missed']) ? (body['missed'] as unknown[]).map(String) : [],
    unreadable,
  };
}

/** `xpp-node user list`: one line per active user (AOR, serial, username), never a secret. */
export function formatUsers(found: OverlayUsers, options: { removed?: boolean } = {}): string {
  const lines = found.users
    .filter((u) => options.removed === true || u.state === 'active')
    .map((u) =>
      u.state === 'active'
        ? `${u.aor}\tserial ${u.serial}\t${u.username ?? ''}`
        : `${u.aor}\tserial ${u.serial}\tremoved`,
    );
  const active = found.users.filter((u) => u.state === 'active').length;
  lines.push(`${active} users (${found.users.length - active} removed) from ${found.owners} peers`);
  return `${lines.join('\n')}\n`;
}

/** Why a walk's result is not the whole overlay, or undefined when it is. */
export function incompleteness(found: OverlayUsers): string | undefined {
  if (found.missed.length > 0) return `${found.missed.length} part(s) of the overlay did not answer`;
  if (found.unreadable > 0) return `${found.unreadable} answer(s) did not open (changed on the way?)`;
  return undefined;
}

/** Refuses an incomplete walk for what must be whole (a backup). */
function requireComplete(found: OverlayUsers): void {
  if (found.unreadable > 0) throw new NodeError('INCOMPLETE', `${incompleteness(found) ?? ''}; retry`);
  if (found.missed.length > 0)
    throw new NodeError(
      'INCOMPLETE',
      `${found.missed.length} part(s) of the overlay did not answer (zones ${found.missed.join(', ')}); retry`,
    );
}

/**
 * `xpp-node backup FILE`: the overlay's users (credentials and tombstones, as their signed values) encrypted under
 * `passphrase`, written 0600. Refused when the walk did not reach every owner.
 */
export async function backupUsers(
  config: DirectoryConfig,
  file: string,
  passphrase: string,
  via?: string,
): Promise<{ users: number; removed: number }> {
  const found = await exportUsers(config, via);
  requireComplete(found);
  writeBackup(
    file,
    {
      version: 1,
      domain: config.domain,
      created: Date.now(),
      records: found.users.map((u) => Buffer.from(u.value).toString('hex')),
    },
    passphrase,
  );
  const removed = found.users.filter((u) => u.state === 'removed').length;
  return { users: found.users.length - removed, removed };
}

/** What a restore did with each record of the backup. */
export interface RestoreReport {
  readonly stored: number;
  /** The overlay holds a newer serial for the AOR already (409): left as it is. */
  readonly newer: number;
  /** Refused by the node or the owner (e.g. not signed by an accepted administrator key): why, by AOR. */
  readonly refused: readonly { aor: string; status: number; error: string }[];
}

/**
 * `xpp-node restore FILE`: decrypts the backup (`BACKUP_REFUSED` when it does not) and stores each record through
 * the node like any admin PUT: the node and the owner check its administrator signature; the store keeps it only
 * above the serial it holds.
 */
export async function restoreUsers(
  config: DirectoryConfig,
  file: string,
  passphrase: string,
  via?: string,
): Promise<RestoreReport> {
  const contents = readBackup(file, passphrase);
  if (contents.domain !== config.domain)
    throw new NodeError(
      'INVALID_CONFIG',
      `${file} is a backup of ${contents.domain}; this node's domain is ${config.domain}`,
    );
  const adminKey = loadAdminPrivateKey(config.dataDir);
  let stored = 0;
  let newer = 0;
  const refused: { aor: string; status: number; error: string }[] = [];
  const queue = [...contents.records];
  const worker = async (): Promise<void> => {
    for (let hex = queue.shift(); hex !== undefined; hex = queue.shift()) {
      const value = new Uint8Array(Buffer.from(hex, 'hex'));
      let aor = '?';
      let path = ADMIN_CREDENTIALS_PATH;
      try {
        const read = decodeCredentialRecord(value);
        if (read.type === 'credential') aor = read.credential.aor;
        else if (read.type === 'removal') {
          aor = read.removal.aor;
          path = ADMIN_REMOVALS_PATH;
        }
      } catch {
        // Sent as it is: the node says why it is not a credential.
      }
      const answer = await requestAdmin(config, via, path, value, adminKey);
      if (answer.status === 201) stored += 1;
      else if (answer.status === 409) newer += 1;
      else refused.push({ aor, status: answer.status, error: String(answer.body['error']) });
    }
  };
  await Promise.all(Array.from({ length: RESTORE_CONCURRENCY }, worker));
  return { stored, newer, refused };
}
