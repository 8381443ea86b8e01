import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { AdminRequestGuard } from './admin-auth.js';
import type { NodeMetrics } from './metrics.js';

export interface OpsHttpServer {
  readonly port: number;
  close(): Promise<void>;
}

/** Where signed credentials are posted. */
export const ADMIN_CREDENTIALS_PATH = '/admin/credentials';
/** Where `peer invite` registers the tokens it issues (on the administrator's node). */
export const ADMIN_TOKENS_PATH = '/admin/enrollment-tokens';
/** Where `peer revoke` posts signed revocations. */
export const ADMIN_REVOCATIONS_PATH = '/admin/revocations';
/** Where `user remove` posts signed credential removals (tombstones). */
export const ADMIN_REMOVALS_PATH = '/admin/credential-removals';

/** Where `user passwd` reads a user's public view (serial; never HA1): the payload is the AOR, UTF-8. */
export const ADMIN_LOOKUP_PATH = '/admin/credential-lookup';

/**
 * Where `user list` and `backup` post an export grant: the node walks the overlay and answers the sealed pages
 * (only the holder of the grant's one-time key opens them).
 */
export const ADMIN_EXPORT_PATH = '/admin/credential-export';

/** An admin endpoint: takes the checked payload octets, answers 201 with a JSON body or throws (with `status`). */
export type AdminRoute = (payload: Uint8Array) => Promise<Record<string, unknown>>;

/** Largest admin request body read, octets (a signed credential is a few hundred). */
export const MAX_ADMIN_BODY = 16 * 1024;

/** What an admin request may change; each answers with a JSON body or throws an error carrying `status`. */
export interface AdminHandlers {
  /**
   * Checks that each admin request is signed by the administrator, fresh and not replayed (`SignedAdminRequest`
   * bodies, as `xpp-node user add` sends them).
   */
  readonly guard: AdminRequestGuard;
  /** POST /admin/credentials, the payload being the octets of a signed CREDENTIAL value. */
  addCredential(value: Uint8Array): Promise<Record<string, unknown>>;
  /** More POST endpoints by path (`ADMIN_TOKENS_PATH`, `ADMIN_REVOCATIONS_PATH`, `ADMIN_REMOVALS_PATH`). */
  readonly routes?: Readonly<Record<string, AdminRoute>>;
}

export interface OpsHttpOptions {
  host: string;
  port: number;
  metrics: NodeMetrics;
  isServing: () => boolean;
  /** Why a serving node is degraded (e.g. its certificate expires within 7 days), or undefined. */
  degraded?: () => string | undefined;
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

async function adminPost(
  req: IncomingMessage,
  res: ServerResponse,
  admin: AdminHandlers,
  path: string,
  route: AdminRoute,
): Promise<void> {
  const text = await readBody(req);
  if (text === undefined) return json(res, 413, { error: `body larger than ${MAX_ADMIN_BODY} octets` });
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  // Signed for this path, fresh and never seen: a captured request cannot be sent again (spec §5: the
  // administrator's signature; the timestamp and nonce make it one request, not a reusable token).
  const checked = admin.guard.check(path, body);
  if (!(checked instanceof Uint8Array))
    return json(res, checked.status, { error: checked.error, code: checked.code });
  try {
    json(res, 201, await route(checked));
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
    const admin = options.admin;
    const route =
      admin === undefined || path === undefined
        ? undefined
        : path === ADMIN_CREDENTIALS_PATH
          ? (value: Uint8Array) => admin.addCredential(value)
          : Object.hasOwn(admin.routes ?? {}, path)
            ? admin.routes?.[path]
            : undefined;
    if (admin !== undefined && route !== undefined && path !== undefined) {
      if (!isLocal(req)) return json(res, 403, { error: 'admin endpoints answer local requests only' });
      if (req.method !== 'POST') return void res.writeHead(405, { allow: 'POST' }).end();
      void adminPost(req, res, admin, path, route);
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    if (path === '/healthz') {
      const ok = options.isServing();
      // Degraded still serves (200: a readiness probe must not take the node out), but says what needs doing.
      const degraded = ok ? options.degraded?.() : undefined;
      res
        .writeHead(ok ? 200 : 503, { 'content-type': 'text/plain' })
        .end(ok ? (degraded === undefined ? 'ok\n' : `degraded: ${degraded}\n`) : 'starting\n');
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
