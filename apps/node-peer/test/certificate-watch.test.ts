import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { decodePeerCertificate, issuePeerCertificate } from '@xpp/dht';
import { afterEach, describe, expect, it } from 'vitest';
import { configSchema } from '../src/config.js';
import { startOpsHttpServer, type OpsHttpServer } from '../src/http-server.js';
import { createLogger } from '../src/logger.js';
import { CertificateWatch } from '../src/membership/certificate-watch.js';
import { loadMembership } from '../src/membership/setup.js';
import { NodeMetrics } from '../src/metrics.js';

const servers: OpsHttpServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

const lines: string[] = [];
const logger = createLogger(
  { logLevel: 'info' },
  {
    pretty: false,
    destination: new Writable({
      write: (chunk: Buffer, _encoding, done) => {
        lines.push(chunk.toString());
        done();
      },
    }),
  },
);

const DAY = 86_400;

describe('certificate lifetime', () => {
  it('is renewed by the administrator node itself once two thirds of it passed; days left and degraded show it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'xpp-cert-'));
    const config = configSchema.parse({ dataDir: dir, domain: 'example.test' });
    const keys = await loadMembership(config, { joining: false });
    const nowS = Math.floor(Date.now() / 1000);
    // 90 days, of which 85 have passed: due for renewal, and within the last 7 days.
    const old = issuePeerCertificate(
      {
        publicKey: keys.identity.publicKey,
        domain: 'example.test',
        notBefore: nowS - 85 * DAY,
        notAfter: nowS + 5 * DAY,
      },
      keys.adminPrivateKey!,
    );
    const metrics = new NodeMetrics({ processMetrics: false });
    const renewed: number[] = [];
    const watch = new CertificateWatch({
      config,
      keys,
      certificate: old,
      logger,
      metrics,
      onRenewed: (c) => renewed.push(c.notAfter) > 0,
    });
    expect(watch.renewalDue()).toBe(true);
    expect(watch.degraded()).toMatch(/^peer certificate expires in 5\.0 days$/);
    await watch.check();
    expect(renewed).toHaveLength(1);
    expect(watch.renewalDue()).toBe(false);
    expect(watch.degraded()).toBeUndefined();
    expect(watch.daysLeft()).toBeGreaterThan(89);
    const onDisk = decodePeerCertificate(new Uint8Array(readFileSync(join(dir, 'peer.cert'))));
    expect(onDisk.notAfter).toBe(renewed[0]);
    expect(await metrics.registry.getSingleMetricAsString('xpp_certificate_days_left')).toMatch(/ 89\.\d+$/m);
  });

  it('a peer certified by hand says loudly what to run when its renewal is due', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'xpp-cert-'));
    const config = configSchema.parse({ dataDir: dir });
    const keys = await loadMembership(config, { joining: false });
    const nowS = Math.floor(Date.now() / 1000);
    const old = issuePeerCertificate(
      {
        publicKey: keys.identity.publicKey,
        domain: 'localhost',
        notBefore: nowS - 70 * DAY,
        notAfter: nowS + 20 * DAY,
      },
      keys.adminPrivateKey!,
    );
    // As a peer without the administrator key and without an enrollment record.
    const watch = new CertificateWatch({
      config,
      keys: { ...keys, adminPrivateKey: undefined },
      certificate: old,
      logger,
      metrics: new NodeMetrics({ processMetrics: false }),
    });
    lines.length = 0;
    await watch.check();
    expect(watch.certificate).toBe(old);
    expect(lines.join('')).toMatch(/must be renewed by hand.*xpp-node peer certify/);
    expect(watch.degraded()).toBeUndefined();
  });

  it('/healthz answers 200 degraded with the reason', async () => {
    const server = await startOpsHttpServer({
      host: '127.0.0.1',
      port: 0,
      metrics: new NodeMetrics({ processMetrics: false }),
      isServing: () => true,
      degraded: () => 'peer certificate expires in 3.0 days',
    });
    servers.push(server);
    const res = await fetch(`http://127.0.0.1:${server.port}/healthz`);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('degraded: peer certificate expires in 3.0 days\n');
  });
});
