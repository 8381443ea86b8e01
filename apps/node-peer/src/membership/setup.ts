import type { KeyObject } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  DhtError,
  importAdminPublicKey,
  issuePeerCertificate,
  verifyPeerCertificate,
  type AdminKeySet,
  type PeerCertificate,
  type PeerIdentity,
} from '@xpp/dht';
import type { NodeConfig } from '../config.js';
import { hasAdminPrivateKey, loadAdminPrivateKey, writeAdminKeys } from '../data-dir.js';
import { NodeError } from '../errors.js';
import type { Logger } from '../logger.js';
import { enrollWithToken } from './enrollment-client.js';
import { DEFAULT_CERTIFICATE_DAYS } from './enrollment-server.js';
import {
  adminKeySetOf,
  adminPublicKeysOf,
  loadCertificate,
  loadIdentity,
  MEMBERSHIP_FILES,
  refuseLegacyPeerId,
  saveCertificate,
  writeFile,
} from './files.js';

/** What a starting node knows about itself and the overlay's administrators. */
export interface NodeKeys {
  readonly identity: PeerIdentity;
  /** `identity.peerId`: the peer id derives from the identity key (spec §5.2). */
  readonly peerId: Uint8Array;
  /** The primary administrator public key (the one `admin.key` pairs with); checks use {@link admins}. */
  readonly adminPublicKey: KeyObject;
  readonly adminPublicKeyHex: string;
  /** Every accepted administrator key, hex (the primary first). */
  readonly adminPublicKeysHex: readonly string[];
  readonly admins: AdminKeySet;
  /** This peer's certificate; undefined only with `membership: off`. */
  readonly certificate: PeerCertificate | undefined;
  /** The administrator key, when this node holds it (it then issues certificates at enrollment). */
  readonly adminPrivateKey: KeyObject | undefined;
  /** The digest password of the candidate AOR, when this host enrolled with a token (now or before). */
  readonly enrolledPassword: string | undefined;
}

/** What a token enrollment left in the data directory (mode 0600: the candidate AOR's password). */
export interface EnrollmentRecord {
  /** The administrator node's SIP address: where renewals go. */
  readonly admin: string;
  /** The digest password of this host's candidate AOR. */
  readonly password?: string;
}

/** Where this peer enrolled, for renewal and for registering again as a candidate after a restart. */
export function enrollmentRecord(dataDir: string): EnrollmentRecord | undefined {
  const path = join(dataDir, MEMBERSHIP_FILES.enrollment);
  if (!existsSync(path)) return undefined;
  try {
    const saved = JSON.parse(readFileSync(path, 'utf8')) as { admin?: unknown; password?: unknown };
    if (typeof saved.admin !== 'string') return undefined;
    return typeof saved.password === 'string'
      ? { admin: saved.admin, password: saved.password }
      : { admin: saved.admin };
  } catch {
    return undefined;
  }
}

const FIX =
  "on the administrator's host run `xpp-node peer certify <public key>` (this node's public key: `xpp-node peer show`) " +
  'and copy the file to peer.cert in the data directory (or give --certificate), or join with a token: ' +
  '`xpp-node join --via <peer> --token <token from xpp-node peer invite>`';

/** Why `certificate` is not good for `identity` now, or undefined when it is. */
export function certificateProblem(
  certificate: PeerCertificate,
  identity: PeerIdentity,
  admins: AdminKeySet,
  domain: string,
  nowS: number = Math.floor(Date.now() / 1000),
): string | undefined {
  if (Buffer.compare(Buffer.from(certificate.publicKey), Buffer.from(identity.publicKey)) !== 0)
    return 'it certifies another key than identity.key';
  try {
    verifyPeerCertificate(certificate, { admins, domain, now: nowS });
    return undefined;
  } catch (error) {
    if (DhtError.is(error)) return (error as { reason?: string }).reason ?? error.message;
    throw error;
  }
}

/**
 * The membership state of a starting node (README "Data directory"): refuses an old `peer.id`; creates the identity
 * key when absent; gathers the administrator key set (creating the administrator key pair when a node founds an
 * overlay with none); takes the certificate from the data directory, enrolls with `enrollToken`, or — on the
 * administrator's own node — certifies itself. Without a valid certificate (and `membership: required`) it throws
 * `NodeError` `KEY_FILE` naming the fix, before any socket is opened.
 */
export async function loadMembership(
  config: NodeConfig,
  options: { joining: boolean; logger?: Logger },
): Promise<NodeKeys> {
  const dir = config.dataDir;
  refuseLegacyPeerId(dir);
  const identity = loadIdentity(dir, { create: true }) as PeerIdentity;
  let keys = adminPublicKeysOf(dir, config.adminPublicKey);
  if (keys.length === 0) {
    if (options.joining)
      throw new NodeError(
        'KEY_FILE',
        `a joining node needs the overlay's administrator public key: set adminPublicKey ` +
          `(XPP_NODE_ADMIN_PUBLIC_KEY, --admin-public-key) or put it in ${join(dir, 'admin.pub')}`,
      );
    if (hasAdminPrivateKey(dir))
      throw new NodeError(
        'KEY_FILE',
        `${join(dir, 'admin.pub')} is missing next to an administrator private key`,
      );
    keys = [writeAdminKeys(dir)];
    options.logger?.info({ adminPublicKey: keys[0] }, 'founding an overlay: administrator key created');
  }
  const admins = adminKeySetOf(keys);
  const adminPrivateKey = hasAdminPrivateKey(dir) ? loadAdminPrivateKey(dir) : undefined;
  const base = {
    identity,
    peerId: identity.peerId,
    adminPublicKey: importAdminPublicKey(new Uint8Array(Buffer.from(keys[0] as string, 'hex'))),
    adminPublicKeyHex: keys[0] as string,
    adminPublicKeysHex: keys,
    admins,
    adminPrivateKey,
  };
  const earlier = enrollmentRecord(dir)?.password;
  if (config.membership === 'off')
    return { ...base, certificate: loadCertificate(dir, config.certificate), enrolledPassword: earlier };

  let certificate = loadCertificate(dir, config.certificate);
  let problem =
    certificate === undefined
      ? 'there is none'
      : certificateProblem(certificate, identity, admins, config.domain);
  let enrolledPassword = earlier;
  if (problem !== undefined && config.enrollToken !== undefined) {
    const enrolled = await enrollWithToken(config.enrollToken, config.joinVia, {
      identity,
      domain: config.domain,
      admins,
      host: config.host,
    });
    certificate = enrolled.certificate;
    enrolledPassword = enrolled.password;
    saveCertificate(certificate, dir, config.certificate);
    const record: EnrollmentRecord = { admin: enrolled.admin, password: enrolled.password };
    writeFile(join(dir, MEMBERSHIP_FILES.enrollment), JSON.stringify(record), 0o600);
    options.logger?.info({ admin: enrolled.admin }, 'enrolled: certificate received');
    problem = undefined;
  }
  if (problem !== undefined && adminPrivateKey !== undefined && !options.joining) {
    // The administrator's own node certifies itself: `xpp-node start` on an empty data directory is one command.
    const now = Math.floor(Date.now() / 1000);
    certificate = issuePeerCertificate(
      {
        publicKey: identity.publicKey,
        domain: config.domain,
        notBefore: now,
        notAfter: now + DEFAULT_CERTIFICATE_DAYS * 86_400,
      },
      adminPrivateKey,
    );
    saveCertificate(certificate, dir, config.certificate);
    options.logger?.info({ peerId: identity.id }, 'certified this peer with the administrator key');
    problem = undefined;
  }
  if (problem !== undefined || certificate === undefined)
    throw new NodeError(
      'KEY_FILE',
      `this node has no valid peer certificate (${problem ?? 'there is none'}): ${FIX}`,
    );
  return { ...base, certificate, enrolledPassword };
}
