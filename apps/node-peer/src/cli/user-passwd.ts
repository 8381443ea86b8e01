import { normaliseAor } from '@xpp/dht';
import type { NodeConfig } from '../config.js';
import { loadAdminPrivateKey } from '../data-dir.js';
import { NodeError } from '../errors.js';
import { ADMIN_LOOKUP_PATH } from '../http-server.js';
import { postAdmin, postCredential } from './user-add.js';

/**
 * `xpp-node user passwd`: a new administrator-signed credential for an existing user, with a serial above the one
 * the overlay holds (seconds now, or one more than the current serial when that is not above it). The holders keep
 * the highest serial and refuse an equal or lower one, so the old credential can never be stored again.
 */
export async function changePassword(
  config: Pick<NodeConfig, 'domain' | 'dataDir' | 'httpPort'> & Partial<Pick<NodeConfig, 'httpHost'>>,
  input: { readonly aor: string; readonly password: string; readonly md5?: boolean; readonly via?: string },
): Promise<{ aor: string; serial: number; previous: number }> {
  let aor: string;
  try {
    aor = normaliseAor(input.aor);
  } catch (cause) {
    throw new NodeError('INVALID_CONFIG', `${input.aor} is not an address-of-record`, { cause });
  }
  const adminKey = loadAdminPrivateKey(config.dataDir);
  const current = await postAdmin(
    config,
    input.via,
    ADMIN_LOOKUP_PATH,
    new Uint8Array(Buffer.from(aor, 'utf8')),
    adminKey,
    'the lookup',
  );
  const previous = Number(current['serial']);
  const username = String(current['username']);
  const serial = Math.max(Math.floor(Date.now() / 1000), previous + 1);
  await postCredential(config, input.via, adminKey, {
    aor,
    realm: config.domain,
    password: input.password,
    username,
    serial,
    ...(input.md5 === undefined ? { md5: current['md5'] === true } : { md5: input.md5 }),
  });
  return { aor, serial, previous };
}
