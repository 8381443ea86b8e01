import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createCredential,
  encodeCredential,
  exportAdminPublicKey,
  generateAdminKeyPair,
  RecordKind,
  signCredential,
} from '@xpp/dht';
import { afterEach, describe, expect, it } from 'vitest';
import { DemoSipClient } from '../src/cli/demo/sip-client.js';
import type { NodeConfig } from '../src/config.js';
import type { NodeHandle } from '../src/daemon.js';
import { nodeConfig, startDaemon } from './support/daemon.js';

// Admin key rotation (README, docs/security.md): while a second key is in `admin-keys/`, a credential signed by it
// is a credential like any other — on the in-memory store path too, where the node, its registrar and its
// credential keeper once checked only the first (primary) key.

const handles: NodeHandle[] = [];
afterEach(async () => {
  await Promise.all(handles.splice(0).map((h) => h.close()));
});

const config = (dataDir: string): NodeConfig => nodeConfig(dataDir, { store: 'memory' });
const start = (c: NodeConfig): Promise<NodeHandle> => startDaemon(c, handles);

describe('administrator key rotation on the in-memory store', () => {
  it('a credential signed by a rotated-in key is stored and lets its user register; a stranger key’s is refused', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'xpp-rotation-')), 'admin');
    // Founds the overlay (admin.key, admin.pub, its own certificate), then the operator adds the next key.
    await (await start(config(dir))).close();
    handles.splice(0);
    const next = generateAdminKeyPair();
    mkdirSync(join(dir, 'admin-keys'), { recursive: true });
    writeFileSync(
      join(dir, 'admin-keys', 'next.pub'),
      Buffer.from(exportAdminPublicKey(next.publicKey)).toString('hex'),
    );
    const node = await start(config(dir));
    expect(node.keys.adminPublicKeysHex).toHaveLength(2);

    const signed = (key: typeof next.privateKey, aor: string) =>
      encodeCredential(
        signCredential(createCredential({ aor, realm: 'localhost', password: 'dave-pw' }), key),
      );
    // Not the primary key: before the fix this PUT was refused (403 BAD_SIGNATURE) by the node's own store.
    await node.node.put(
      'sip:dave@localhost',
      RecordKind.CREDENTIAL,
      signed(next.privateKey, 'sip:dave@localhost'),
      86_400,
    );
    const stranger = generateAdminKeyPair();
    await expect(
      node.node.put(
        'sip:erin@localhost',
        RecordKind.CREDENTIAL,
        signed(stranger.privateKey, 'sip:erin@localhost'),
        86_400,
      ),
    ).rejects.toThrow();

    const dave = await DemoSipClient.open({
      aor: 'sip:dave@localhost',
      password: 'dave-pw',
      peer: { address: '127.0.0.1', port: node.ports.sip },
    });
    try {
      expect(await dave.register()).toBe(200);
    } finally {
      dave.close();
    }
  });
});
