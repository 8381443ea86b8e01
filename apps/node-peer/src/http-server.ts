import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { NodeMetrics } from './metrics.js';

export interface OpsHttpServer {
  readonly port: number;
  close(): Promise<void>;
}

/** Largest admin request body read, octets (a signed credential is a few hundred). */
export const MAX_ADMIN_BODY = 16 * 1024;

/** What an admin request may change; each answers with a JSON body or throws an error carrying `status`. */
export interface AdminHandlers {
  /** POST /admin/credentials `{"credential":"<hex of a signed CREDENTIAL value>"}`. */
  addCredential(value: Uint8Array): Promise<Record<string, unknown>>;
}

export interface OpsHttpOptions {
  host: string;
  port: number;
  metrics: NodeMetrics;
  isServing: () => boolean;
  status?: () => unknown;
  /** Called before each scrape, to copy the node's figures into the metrics. */
  beforeScrape?: () => void;
  admin?: AdminHandlers;
}

/** Only the machine itself may use the admin endpoints: loopback, or the node's own address calling itself. */
function isLocal(req: IncomingMessage): boolean {
  const remote = req.socket.remoteAddress ?? '';
  return (
    remote === '127.0.0.1' ||
    remote === '::1' ||
    remote === '::ffff:127.0.0.1' ||
    remote === req.socket.localAddress
  );
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(`${JSON.stringify(body)}\n`);
}

function readBody(req: IncomingMessage): Promise<string | undefined> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      // Past the bound the rest is read and dropped (the answer is 413), never kept.
      if (size <= MAX_ADMIN_BODY) chunks.push(chunk);
    });
    req.on('end', () => resolve(size > MAX_ADMIN_BODY ? undefined : Buffer.concat(chunks).toString('utf8')));
    req.on('error', () => resolve(undefined));
  });
}

function errorStatus(error: unknown): number {
  const status = (error as { status?: unknown }).status;
  return typeof status === 'number' && status >= 400 && status < 600 ? status : 500;
}

async function addCredential(req: IncomingMessage, res: ServerResponse, admin: AdminHandlers): Promise<void> {
  const text = await readBody(req);
  if (text === undefined) return json(res, 413, { error: `body larger than ${MAX_ADMIN_BODY} octets` });
  let hex: unknown;
  try {
    hex = (JSON.parse(text) as { credential?: unknown }).credential;
  } catch {
    hex = undefined;
  }
  if (typeof hex !== 'string' || !/^([0-9a-fA-F]{2})+$/.test(hex)) {
    return json(res, 400, { error: 'expected {"credential": "<hex>"}' });
  }
  try {
    json(res, 201, await admin.addCredential(new Uint8Array(Buffer.from(hex, 'hex'))));
  } catch (error) {
    const e = error as { message?: string; code?: string };
    json(res, errorStatus(error), { error: e.message ?? String(error), code: e.code });
  }
}

/**
 * `/metrics` (Prometheus text), `/healthz` — 200 only while `isServing()` says the node serves SIP, what an
 * orchestrator's readiness probe needs — `/status` (JSON), and the local-only admin endpoints.
 */
export async function startOpsHttpServer(options: OpsHttpOptions): Promise<OpsHttpServer> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/admin/credentials' && options.admin) {
      if (!isLocal(req)) return json(res, 403, { error: 'admin endpoints answer local requests only' });
      if (req.method !== 'POST') return void res.writeHead(405, { allow: 'POST' }).end();
      void addCredential(req, res, options.admin);
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    if (path === '/healthz') {
      const ok = options.isServing();
      res.writeHead(ok ? 200 : 503, { 'content-type': 'text/plain' }).end(ok ? 'ok\n' : 'starting\n');
    } else if (path === '/metrics') {
      options.beforeScrape?.();
      options.metrics.registry.metrics().then(
        (text) => res.writeHead(200, { 'content-type': options.metrics.registry.contentType }).end(text),
        () => res.writeHead(500).end(),
      );
    } else if (path === '/status' && options.status) {
      json(res, 200, options.status());
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
