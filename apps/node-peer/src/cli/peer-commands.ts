import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import {
  DEFAULT_ENROLLMENT_DAYS,
  encodeRevocation,
  issuePeerCertificate,
  issueRevocation,
  peerIdOf,
  type PeerCertificate,
} from '@xpp/dht';
import type { NodeConfig } from '../config.js';
import { loadAdminPrivateKey } from '../data-dir.js';
import { NodeError } from '../errors.js';
import { ADMIN_REVOCATIONS_PATH, ADMIN_TOKENS_PATH } from '../http-server.js';
import { DEFAULT_CERTIFICATE_DAYS } from '../membership/enrollment-server.js';
import {
  adminKeySetOf,
  adminPublicKeysOf,
  loadCertificate,
  loadIdentity,
  refuseLegacyPeerId,
  saveCertificate,
} from '../membership/files.js';
import { certificateProblem } from '../membership/setup.js';
import { commandConfig, withConfigFlags } from './config-flags.js';
import type { CliIo } from './program.js';
import { postAdmin } from './user-add.js';

/** Default lifetime of an enrollment token, days. */
export const DEFAULT_TOKEN_DAYS = DEFAULT_ENROLLMENT_DAYS;

const iso = (unixS: number): string => new Date(unixS * 1000).toISOString();

function days(raw: unknown, fallback: number, max: number): number {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > max)
    throw new NodeError(
      'INVALID_CONFIG',
      `--days must be a whole number from 1 to ${max}, got ${String(raw)}`,
    );
  return n;
}

/** A public key given as 64 hex digits, or a file holding them (what `peer show` prints). */
function publicKeyArgument(arg: string): Uint8Array {
  let text = arg.trim();
  if (!/^[0-9a-fA-F]{64}$/.test(text)) {
    if (!existsSync(text))
      throw new NodeError('INVALID_CONFIG', `${arg} is neither a public key (64 hex digits) nor a file`);
    text = readFileSync(text, 'utf8').trim();
    if (!/^[0-9a-fA-F]{64}$/.test(text))
      throw new NodeError(
        'INVALID_CONFIG',
        `${arg} must hold a public key as 64 hex digits (xpp-node peer show)`,
      );
  }
  return new Uint8Array(Buffer.from(text, 'hex'));
}

const hex = (value: Uint8Array | string): string =>
  typeof value === 'string' ? value : Buffer.from(value).toString('hex');

/** `peer certify`: a certificate for `publicKey`, signed with the data directory's administrator key. */
export function certifyPeer(
  config: Pick<NodeConfig, 'dataDir' | 'domain'>,
  publicKeyArg: string,
  options: { days?: number; out?: string; now?: number } = {},
): { certificate: PeerCertificate; peerId: string; file: string } {
  const adminKey = loadAdminPrivateKey(config.dataDir);
  const publicKey = publicKeyArgument(publicKeyArg);
  const now = Math.floor((options.now ?? Date.now()) / 1000);
  const certificate = issuePeerCertificate(
    {
      publicKey,
      domain: config.domain,
      notBefore: now,
      notAfter: now + (options.days ?? DEFAULT_CERTIFICATE_DAYS) * 86_400,
    },
    adminKey,
  );
  const peerId = hex(peerIdOf(publicKey));
  const file = resolve(options.out ?? `peer-${peerId}.cert`);
  saveCertificate(certificate, config.dataDir, file);
  return { certificate, peerId, file };
}

/** `peer show`: this node's public key and id (the identity key is created when absent) and its certificate. */
export function showPeer(
  config: Pick<NodeConfig, 'dataDir' | 'domain' | 'adminPublicKey' | 'certificate'>,
): string {
  refuseLegacyPeerId(config.dataDir);
  const identity = loadIdentity(config.dataDir, { create: true });
  if (identity === undefined) throw new NodeError('KEY_FILE', 'no identity key');
  const lines = [`public key ${hex(identity.publicKey)}`, `peer id ${identity.id}`];
  const certificate = loadCertificate(config.dataDir, config.certificate);
  if (certificate === undefined) {
    lines.push("certificate: none (xpp-node peer certify <public key> on the administrator's host)");
    return `${lines.join('\n')}\n`;
  }
  lines.push(
    `certificate: ${certificate.domain}, valid ${iso(certificate.notBefore)} to ${iso(certificate.notAfter)}`,
  );
  const keys = adminPublicKeysOf(config.dataDir, config.adminPublicKey);
  const problem =
    keys.length === 0
      ? 'no administrator public key to check it against'
      : certificateProblem(certificate, identity, adminKeySetOf(keys), config.domain);
  lines.push(problem === undefined ? 'certificate: valid' : `certificate: NOT valid (${problem})`);
  return `${lines.join('\n')}\n`;
}

type AdminNodeConfig = Pick<NodeConfig, 'dataDir' | 'httpPort'> & Partial<Pick<NodeConfig, 'httpHost'>>;

/**
 * `peer invite`: a one-time enrollment token issued (and kept) by the administrator's running node (local, or
 * `via`), asked for with an administrator-signed request; resolves with the invitation text (`<token>@<that
 * node's SIP address>`) and when it expires (Unix ms).
 */
export async function invitePeer(
  config: AdminNodeConfig,
  options: { days?: number; via?: string } = {},
): Promise<{ text: string; expiresAt: number }> {
  const adminKey = loadAdminPrivateKey(config.dataDir);
  const answer = await postAdmin(
    config,
    options.via,
    ADMIN_TOKENS_PATH,
    new Uint8Array(Buffer.from(JSON.stringify({ days: options.days ?? DEFAULT_TOKEN_DAYS }))),
    adminKey,
    'the token',
  );
  return { text: String(answer['text']), expiresAt: Number(answer['expiresAt']) };
}

/** `peer revoke`: an administrator-signed revocation of `peerIdHex`, stored through a running node. */
export async function revokePeer(config: AdminNodeConfig, peerIdHex: string, via?: string): Promise<void> {
  if (!/^[0-9a-fA-F]{32}$/.test(peerIdHex))
    throw new NodeError(
      'INVALID_CONFIG',
      `${peerIdHex} is not a peer id (32 hex digits, xpp-node peer show)`,
    );
  const adminKey = loadAdminPrivateKey(config.dataDir);
  const revocation = issueRevocation(
    new Uint8Array(Buffer.from(peerIdHex, 'hex')),
    Math.floor(Date.now() / 1000),
    adminKey,
  );
  await postAdmin(
    config,
    via,
    ADMIN_REVOCATIONS_PATH,
    encodeRevocation(revocation),
    adminKey,
    'the revocation',
  );
}

/** Adds `peer certify|show|revoke|invite` to the program. */
export function addPeerCommands(program: Command, io: CliIo): void {
  const peer = program.command('peer').description('peer identity and certificates (spec xpp-pcan §5)');
  withConfigFlags(
    peer
      .command('certify <public-key>')
      .description("certify a peer's public key (hex, or a file holding it) with the administrator key")
      .option('--days <n>', `validity in days (default ${DEFAULT_CERTIFICATE_DAYS})`)
      .option('--out <file>', 'where to write the certificate (default ./peer-<id>.cert)'),
  ).action((publicKey: string, options: Record<string, unknown>) => {
    const config = commandConfig(options, io.env);
    const result = certifyPeer(config, publicKey, {
      days: days(options['days'], DEFAULT_CERTIFICATE_DAYS, 3650),
      ...(typeof options['out'] === 'string' ? { out: options['out'] } : {}),
    });
    io.stdout(
      `certified peer ${result.peerId} for ${result.certificate.domain} until ${iso(result.certificate.notAfter)}\n` +
        `wrote ${result.file}: copy it to peer.cert in that node's data directory\n`,
    );
  });

  withConfigFlags(
    peer
      .command('show')
      .description("this node's public key, peer id and certificate (creates the identity key if absent)"),
  ).action((options: Record<string, unknown>) => {
    io.stdout(showPeer(commandConfig(options, io.env)));
  });

  withConfigFlags(
    peer
      .command('revoke <peer-id>')
      .description(
        'store an administrator-signed revocation of a peer in the overlay, through a running node',
      )
      .option('--via <url>', "a node's HTTP address (default the local node)"),
  ).action(async (id: string, options: Record<string, unknown>) => {
    await revokePeer(commandConfig(options, io.env), id, options['via'] as string | undefined);
    io.stdout(`revoked peer ${id.toLowerCase()}: its sessions end at its neighbours' next refresh\n`);
  });

  withConfigFlags(
    peer
      .command('invite')
      .description("a one-time enrollment token for a new host (run where the administrator's node runs)")
      .option('--days <n>', `how long the token may be used (default ${DEFAULT_TOKEN_DAYS})`)
      .option('--via <url>', "the administrator node's HTTP address (default the local node)"),
  ).action(async (options: Record<string, unknown>) => {
    const config = commandConfig(options, io.env);
    const invitation = await invitePeer(config, {
      days: days(options['days'], DEFAULT_TOKEN_DAYS, 365),
      ...(typeof options['via'] === 'string' ? { via: options['via'] } : {}),
    });
    io.stdout(
      `${invitation.text}\none use, until ${new Date(invitation.expiresAt).toISOString()}; on the new host: ` +
        `xpp-node join --via <a peer's SIP address> --token <the line above>\n`,
    );
  });
}
