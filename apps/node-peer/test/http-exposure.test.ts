import { mkdtempSync } from 'node:fs';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCredential, encodeCredential, RecordKind, signCredential } from '@xpp/dht';
import { afterEach, describe, expect, it } from 'vitest';
import { signAdminRequest } from '../src/admin-auth.js';
import { configSchema, type NodeConfigInput } from '../src/config.js';
import type { NodeHandle } from '../src/daemon.js';
import { loadAdminPrivateKey } from '../src/data-dir.js';
import { startDaemon } from './support/daemon.js';

// The HTTP side attacked from outside: who can reach it, and whether a captured admin request can be sent again.
const handles: NodeHandle[] = [];
afterEach(async () => {
  await Promise.all(handles.splice(0).map((h) => h.close()));
});

async function start(extra: NodeConfigInput = {}): Promise<NodeHandle> {
  const dataDir = mkdtempSync(join(tmpdir(), 'xpp-http-'));
  return startDaemon(
    configSchema.parse({ sipPort: 0, xppPort: 0, httpPort: 0, dimensions: 2, dataDir, ...extra }),
    handles,
  );
}

/** The status of GET `url`, or `refused` when no connection can be made. */
async function reach(url: string): Promise<number | 'refused'> {
  try {
    return (await fetch(url, { signal: AbortSignal.timeout(3_000) })).status;
  } catch {
    return 'refused';
  }
}

/** This machine's addresses other than loopback: what other hosts would connect to. */
function externalAddresses(): string[] {
  return Object.values(networkInterfaces())
    .flat()
    .filter((i) => i !== undefined && !i.internal && i.family === 'IPv4')
    .map((i) => i!.address);
}

function credentialHex(dataDir: string, aor: string): string {
  const credential = signCredential(
    createCredential({ aor, realm: 'localhost', password: 'pw' }),
    loadAdminPrivateKey(dataDir),
  );
  return Buffer.from(encodeCredential(credential)).toString('hex');
}

describe('HTTP exposure', () => {
  it('binds 127.0.0.1 by default, wherever SIP is: /status and /metrics unreachable on any other address', async () => {
    // SIP on another address (standing for the public one a deployment gives --host); HTTP left on its default.
    const node = await start({ host: '127.0.0.2' });
    const port = node.ports.http;
    expect(await reach(`http://127.0.0.1:${port}/status`)).toBe(200);
    for (const address of ['127.0.0.2', ...externalAddresses()]) {
      expect(await reach(`http://${address}:${port}/status`)).toBe('refused');
      expect(await reach(`http://${address}:${port}/metrics`)).toBe('refused');
    }
    expect(node.config.httpHost).toBe('127.0.0.1');
  });

  it('--http-host opens it where the operator says, independently of the SIP host', async () => {
    const node = await start({ httpHost: '127.0.0.2' });
    expect(await reach(`http://127.0.0.2:${node.ports.http}/healthz`)).toBe(200);
    expect(await reach(`http://127.0.0.1:${node.ports.http}/healthz`)).toBe('refused');
    expect(node.node.ua.local.address).toBe('127.0.0.1');
  });

  it('refuses a replayed, a stale, an unsigned and a foreign-signed admin request', async () => {
    const node = await start();
    const url = `http://127.0.0.1:${node.ports.http}/admin/credentials`;
    const post = (body: unknown) =>
      fetch(url, { method: 'POST', body: JSON.stringify(body) }).then(async (r) => ({
        status: r.status,
        code: ((await r.json()) as { code?: string }).code,
      }));
    const key = loadAdminPrivateKey(node.config.dataDir);

    const captured = signAdminRequest(
      '/admin/credentials',
      credentialHex(node.config.dataDir, 'sip:carol@localhost'),
      key,
    );
    expect((await post(captured)).status).toBe(201);
    // The same bytes again, as someone who saw them would send them.
    expect(await post(captured)).toEqual({ status: 403, code: 'REPLAYED' });

    const dave = credentialHex(node.config.dataDir, 'sip:dave@localhost');
    const old = signAdminRequest('/admin/credentials', dave, key, Date.now() - 10 * 60_000);
    expect(await post(old)).toEqual({ status: 401, code: 'STALE' });
    expect((await post({ credential: dave })).status).toBe(400);
    const other = (await start()).config.dataDir;
    expect(await post(signAdminRequest('/admin/credentials', dave, loadAdminPrivateKey(other)))).toEqual({
      status: 403,
      code: 'BAD_SIGNATURE',
    });
    // A request signed for another path is not one for this path.
    expect((await post(signAdminRequest('/admin/other', dave, key))).code).toBe('BAD_SIGNATURE');
    expect(await node.node.get('sip:dave@localhost', RecordKind.CREDENTIAL)).toHaveLength(0);
  });
});
