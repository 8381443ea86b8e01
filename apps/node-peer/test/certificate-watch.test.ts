import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import {
  decodePeerCertificate,
  generateAdminKeyPair,
  issuePeerCertificate,
  OverlayNode,
  type PeerCertificate,
} from '@xpp/dht';
import { waitFor } from '@xpp/reliability/testing';
import { SipHeaders } from '@xpp/session-sdp';
import { afterEach, describe, expect, it } from 'vitest';
import { configSchema } from '../src/config.js';
import { startNode, type NodeHandle } from '../src/daemon.js';
import { startOpsHttpServer, type OpsHttpServer } from '../src/http-server.js';
import { createLogger } from '../src/logger.js';
import { CertificateWatch, presentRenewal } from '../src/membership/certificate-watch.js';
import { saveCertificate } from '../src/membership/files.js';
import { loadMembership, type NodeKeys } from '../src/membership/setup.js';
import { IdentityAsserter } from '../src/proxy/identity.js';
import { NodeMetrics } from '../src/metrics.js';

const servers: OpsHttpServer[] = [];
const nodes: OverlayNode[] = [];
const handles: NodeHandle[] = [];
afterEach(async () => {
  await Promise.all(handles.splice(0).map((h) => h.close()));
  await Promise.all(servers.splice(0).map((s) => s.close()));
  await Promise.all(nodes.splice(0).map((n) => n.close()));
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
    saveCertificate(old, dir);
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
    saveCertificate(old, dir);
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

  it('the running overlay node presents the renewal at once; /healthz and days left follow it', async () => {
    const { dir, config, keys, old } = await peerWithDaysLeft(5);
    const node = await certifiedNode(keys, old, config.domain);
    const metrics = new NodeMetrics({ processMetrics: false });
    const watch = new CertificateWatch({
      config,
      keys,
      certificate: old,
      logger,
      metrics,
      onRenewed: presentRenewal(node, logger),
    });
    expect(watch.degraded()).toMatch(/expires in 5\.0 days/);
    await watch.check();
    const onDisk = decodePeerCertificate(new Uint8Array(readFileSync(join(dir, 'peer.cert'))));
    expect(onDisk.notAfter).toBeGreaterThan(old.notAfter);
    // The node signs its sessions and ORIGINs with it from now (packages/dht/test/certificate-renewal.test.ts).
    expect(node.certificate).toBe(watch.certificate);
    expect(node.certificate?.notAfter).toBe(onDisk.notAfter);
    expect(watch.degraded()).toBeUndefined();
    expect(await metrics.registry.getSingleMetricAsString('xpp_certificate_days_left')).toMatch(/ 89\.\d+$/m);
  });

  it('the daemon renews a certificate due at start and its overlay node presents it, without a restart', async () => {
    const { dir, old } = await peerWithDaysLeft(5);
    const metrics = new NodeMetrics({ processMetrics: false });
    const handle = await startNode(
      configSchema.parse({ dataDir: dir, domain: 'example.test', sipPort: 0, xppPort: 0, httpPort: 0 }),
      { logger, metrics },
    );
    handles.push(handle);
    await handle.ready;
    await waitFor(() => (handle.node.certificate?.notAfter ?? 0) > old.notAfter, {
      timeoutMs: 10_000,
      what: 'the node presenting the renewed certificate',
    });
    const onDisk = decodePeerCertificate(new Uint8Array(readFileSync(join(dir, 'peer.cert'))));
    expect(handle.node.certificate?.notAfter).toBe(onDisk.notAfter);
    const health = await fetch(`http://127.0.0.1:${handle.ports.http}/healthz`);
    expect(await health.text()).toBe('ok\n');
    expect(await metrics.registry.getSingleMetricAsString('xpp_certificate_days_left')).toMatch(/ 89\.\d+$/m);
  });

  it('the caller assertions (XPP-Identity) a node signs carry the certificate it presents, renewed too', async () => {
    const { config, keys, old } = await peerWithDaysLeft(5);
    const node = await certifiedNode(keys, old, config.domain);
    // Six days on: the old certificate is past its end (and the skew), the renewed one is not.
    const later = { wallNow: () => Date.now() + 6 * DAY * 1000 };
    const policy = { identity: keys.identity, admins: keys.admins, domain: config.domain, clock: later };
    // As the SIP front signs: with the node's certificate at each signature.
    const signer = new IdentityAsserter({ ...policy, certificate: () => node.certificate ?? old });
    const receiver = new IdentityAsserter({ ...policy, certificate: old });
    const asserted = (callId: string) => {
      const headers = new SipHeaders()
        .append('From', '<sip:alice@example.test>;tag=1')
        .append('To', '<sip:bob@example.test>')
        .append('Call-ID', callId)
        .append('CSeq', '1 INVITE');
      const request = { kind: 'request', method: 'INVITE', uri: 'sip:bob@example.test', headers } as const;
      headers.append('XPP-Identity', signer.sign({ ...request, body: new Uint8Array(0) }));
      return receiver.verify({ ...request, body: new Uint8Array(0) });
    };
    expect((await asserted('before-renewal')).kind).toBe('invalid');
    node.renewCertificate(certify(keys, keys.adminPrivateKey!, config.domain, 90));
    expect(await asserted('after-renewal')).toMatchObject({ kind: 'verified', peer: node.id });
  });

  it('a certificate copied into peer.cert by hand is presented at the next check', async () => {
    const { dir, config, keys, old } = await peerWithDaysLeft(20);
    const peerKeys = { ...keys, adminPrivateKey: undefined };
    const node = await certifiedNode(peerKeys, old, config.domain);
    const watch = new CertificateWatch({
      config,
      keys: peerKeys,
      certificate: old,
      logger,
      metrics: new NodeMetrics({ processMetrics: false }),
      onRenewed: presentRenewal(node, logger),
    });
    await watch.check();
    expect(node.certificate).toBe(old);
    const byHand = certify(keys, keys.adminPrivateKey!, config.domain, 60);
    saveCertificate(byHand, dir);
    await watch.check();
    expect(node.certificate?.notAfter).toBe(byHand.notAfter);
    expect(watch.certificate.notAfter).toBe(byHand.notAfter);
  });

  it('a renewal the node refuses (signed by an unknown administrator) is logged; the one in use stays', async () => {
    const { dir, config, keys, old } = await peerWithDaysLeft(3);
    const peerKeys = { ...keys, adminPrivateKey: undefined };
    const node = await certifiedNode(peerKeys, old, config.domain);
    const watch = new CertificateWatch({
      config,
      keys: peerKeys,
      certificate: old,
      logger,
      metrics: new NodeMetrics({ processMetrics: false }),
      onRenewed: presentRenewal(node, logger),
    });
    saveCertificate(certify(keys, generateAdminKeyPair().privateKey, config.domain, 90), dir);
    lines.length = 0;
    await watch.check();
    expect(node.certificate).toBe(old);
    expect(watch.certificate).toBe(old);
    const log = lines.join('');
    expect(log).toMatch(/the node refused its renewed certificate/);
    expect(log).toMatch(/bad-signature/);
    expect(watch.degraded()).toMatch(/expires in 3\.0 days \(the node refused the renewed one/);
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

/** A certificate for `keys`' identity, valid from now for `days`, signed by `adminKey`. */
function certify(
  keys: NodeKeys,
  adminKey: Parameters<typeof issuePeerCertificate>[1],
  domain: string,
  days: number,
): PeerCertificate {
  const nowS = Math.floor(Date.now() / 1000);
  return issuePeerCertificate(
    { publicKey: keys.identity.publicKey, domain, notBefore: nowS, notAfter: nowS + days * DAY },
    adminKey,
  );
}

/** The administrator's node with a 90-day certificate of which `left` days are left, in use and in peer.cert. */
async function peerWithDaysLeft(left: number) {
  const dir = mkdtempSync(join(tmpdir(), 'xpp-cert-'));
  const config = configSchema.parse({ dataDir: dir, domain: 'example.test' });
  const keys = await loadMembership(config, { joining: false });
  const nowS = Math.floor(Date.now() / 1000);
  const old = issuePeerCertificate(
    {
      publicKey: keys.identity.publicKey,
      domain: config.domain,
      notBefore: nowS - (90 - left) * DAY,
      notAfter: nowS + left * DAY,
    },
    keys.adminPrivateKey!,
  );
  saveCertificate(old, dir);
  return { dir, config, keys, old };
}

/** A running overlay node presenting `certificate`, as the daemon makes it. */
async function certifiedNode(
  keys: NodeKeys,
  certificate: PeerCertificate,
  domain: string,
): Promise<OverlayNode> {
  const node = await OverlayNode.create({
    membership: { identity: keys.identity, certificate, admins: keys.admins, domain },
  });
  nodes.push(node);
  return node;
}
