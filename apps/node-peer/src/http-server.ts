import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { NodeMetrics } from './metrics.js';

export interface OpsHttpServer {
  readonly port: number;
  close(): Promise<void>;
}

/**
 * `/metrics` (Prometheus text) and `/healthz`, which answers 200 only while `isServing()` says the node serves
 * SIP: what an orchestrator's readiness probe needs.
 */
export async function startOpsHttpServer(options: {
  host: string;
  port: number;
  metrics: NodeMetrics;
  isServing: () => boolean;
  status?: () => unknown;
}): Promise<OpsHttpServer> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    if (path === '/healthz') {
      const ok = options.isServing();
      res.writeHead(ok ? 200 : 503, { 'content-type': 'text/plain' }).end(ok ? 'ok\n' : 'starting\n');
    } else if (path === '/metrics') {
      options.metrics.registry.metrics().then(
        (text) => res.writeHead(200, { 'content-type': options.metrics.registry.contentType }).end(text),
        () => res.writeHead(500).end(),
      );
    } else if (path === '/status' && options.status) {
      res.writeHead(200, { 'content-type': 'application/json' }).end(`${JSON.stringify(options.status())}\n`);
    } else {
      res.writeHead(404).end();
    }
  });
  // Bounded: no slow-loris holding sockets open, no large headers.
  server.headersTimeout = 5_000;
  server.requestTimeout = 10_000;
  server.maxHeadersCount = 50;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
