import { encodeCredentialRemoval, normaliseAor, signCredentialRemoval } from '@xpp/dht';
import type { NodeConfig } from '../config.js';
import { loadAdminPrivateKey } from '../data-dir.js';
import { NodeError } from '../errors.js';
import { ADMIN_REMOVALS_PATH } from '../http-server.js';
import { postAdmin } from './user-add.js';

/**
 * `xpp-node user remove`: an administrator-signed tombstone for `aor` (serial = seconds now + 1, so it replaces the
 * credential added before; holders keep it at least 30 days and refuse any older credential), stored through a
 * running node's local admin endpoint.
 */
export async function removeUser(
  config: Pick<NodeConfig, 'dataDir' | 'httpPort'> & Partial<Pick<NodeConfig, 'httpHost'>>,
  input: { readonly aor: string; readonly via?: string },
): Promise<{ aor: string; serial: number }> {
  let aor: string;
  try {
    aor = normaliseAor(input.aor);
  } catch (cause) {
    throw new NodeError('INVALID_CONFIG', `${input.aor} is not an address-of-record`, { cause });
  }
  const adminKey = loadAdminPrivateKey(config.dataDir);
  // One second ahead of `user add`'s serial (seconds now), so that removing a user just added still replaces it.
  const removal = signCredentialRemoval(aor, Math.floor(Date.now() / 1000) + 1, adminKey);
  await postAdmin(
    config,
    input.via,
    ADMIN_REMOVALS_PATH,
    encodeCredentialRemoval(removal),
    adminKey,
    'the removal',
  );
  return { aor: removal.aor, serial: removal.serial };
}
