import { request } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { generateAdminKeyPair } from '@xpp/dht';
import { AdminRequestGuard, signAdminRequest } from '../src/admin-auth.js';
import { startOpsHttpServer, type OpsHttpServer } from '../src/http-server.js';
import { NodeMetrics } from '../src/metrics.js';

let server: OpsHttpServer | undefined;
const admin = generateAdminKeyPair();
/** A body as `user add` sends it: the payload signed with a timestamp and a nonce. */
const signed = (hex: string) => JSON.stringify(signAdminRequest('/admin/credentials', hex, admin.privateKey));
afterEach(async () => {
  await server?.close();
  server = undefined;
});

describe('ops HTTP server', () => {
  it('answers /healthz 503 until the node serves SIP, then 200', async () => {
    let serving = false;
    server = await startOpsHttpServer({
      host: '127.0.0.1',
      port: 0,
      metrics: new NodeMetrics(),
      isServing: () => serving,
    });
    const url = `http://127.0.0.1:${server.port}/healthz`;
    expect((await fetch(url)).status).toBe(503);
    serving = true;
    expect((await fetch(url)).status).toBe(200);
  });

  it('serves Prometheus metrics with the node series', async () => {
    const metrics = new NodeMetrics();
    metrics.registrations.inc({ result: 'ok' }, 3);
    metrics.sessions.set(2);
    server = await startOpsHttpServer({ host: '127.0.0.1', port: 0, metrics, isServing: () => true });
    const res = await fetch(`http://127.0.0.1:${server.port}/metrics`);
    expect(res.headers.get('content-type')).toContain('text/plain');
    const text = await res.text();
    expect(text).toContain('sip_registrations_total{result="ok"} 3');
    expect(text).toContain('xpp_sessions 2');
    expect(text).toContain('xpp_node_process_resident_memory_bytes');
  });

  it('answers unknown paths 404 and other methods 405', async () => {
    server = await startOpsHttpServer({
      host: '127.0.0.1',
      port: 0,
      metrics: new NodeMetrics(),
      isServing: () => true,
    });
    expect((await fetch(`http://127.0.0.1:${server.port}/nope`)).status).toBe(404);
    expect((await fetch(`http://127.0.0.1:${server.port}/metrics`, { method: 'POST' })).status).toBe(405);
  });

  it('takes signed credentials on the local admin endpoint: 201, the handler error status, 400 and 413', async () => {
    const seen: string[] = [];
    server = await startOpsHttpServer({
      host: '127.0.0.1',
      port: 0,
      metrics: new NodeMetrics(),
      isServing: () => true,
      admin: {
        guard: new AdminRequestGuard(admin.publicKey),
        addCredential: (value) => {
          const hex = Buffer.from(value).toString('hex');
          seen.push(hex);
          if (hex === 'bad0')
            return Promise.reject(
              Object.assign(new Error('not signed'), { status: 403, code: 'BAD_SIGNATURE' }),
            );
          return Promise.resolve({ aor: 'sip:alice@localhost' });
        },
      },
    });
    const post = (body: string) =>
      fetch(`http://127.0.0.1:${server!.port}/admin/credentials`, { method: 'POST', body });
    const ok = await post(signed('c0ffee'));
    expect(ok.status).toBe(201);
    expect(await ok.json()).toEqual({ aor: 'sip:alice@localhost' });
    const refused = await post(signed('bad0'));
    expect(refused.status).toBe(403);
    expect(await refused.json()).toEqual({ error: 'not signed', code: 'BAD_SIGNATURE' });
    expect((await post('{')).status).toBe(400);
    expect((await post(JSON.stringify({ credential: 'c0ffee' }))).status).toBe(400);
    expect((await post(signed('ab'.repeat(10_000)))).status).toBe(413);
    expect((await fetch(`http://127.0.0.1:${server.port}/admin/credentials`)).status).toBe(405);
    expect(seen).toEqual(['c0ffee', 'bad0']);
  });

  it('answers admin requests from another address 403 without calling the handler', async () => {
    let calls = 0;
    server = await startOpsHttpServer({
      host: '127.0.0.2',
      port: 0,
      metrics: new NodeMetrics(),
      isServing: () => true,
      admin: {
        guard: new AdminRequestGuard(admin.publicKey),
        addCredential: () => {
          calls++;
          return Promise.resolve({});
        },
      },
    });
    // From 127.0.0.3 to 127.0.0.2: neither the loopback address nor the node's own.
    const status = await new Promise<number | undefined>((resolve, reject) => {
      const req = request(
        {
          host: '127.0.0.2',
          port: server!.port,
          path: '/admin/credentials',
          method: 'POST',
          localAddress: '127.0.0.3',
        },
        (res) => {
          res.resume();
          resolve(res.statusCode);
        },
      );
      req.on('error', reject);
      req.end(signed('c0ffee'));
    });
    expect(status).toBe(403);
    expect(calls).toBe(0);
    expect((await fetch(`http://127.0.0.2:${server.port}/healthz`)).status).toBe(200);
  });
});
