import { readFileSync } from 'node:fs';
import { DEFAULT_SERVER_TRANSACTION_LIMITS } from '@xpp/session-sdp';
import { z } from 'zod';
import { NodeError } from './errors.js';

const port = z.number().int().min(0).max(65535);

/** Everything a node can be told, with the embedded defaults that make `xpp-node start` alone work. */
export const configSchema = z
  .object({
    /** The SIP domain this overlay serves (registrar and proxy for `sip:*@domain`). */
    domain: z
      .string()
      .min(1)
      .max(253)
      .regex(/^[a-z0-9.-]+$/i, 'a host name')
      .default('localhost'),
    /** Address the SIP and XPP sockets bind; `::` is dual stack (IPv4 too) and needs `advertise`. */
    host: z.union([z.ipv4(), z.ipv6()]).default('127.0.0.1'),
    /**
     * The addresses a peer bound to a wildcard (`::`, `0.0.0.0`) names itself by, at most one per family, the first
     * the default (`--advertise 127.0.0.1,::1`): Via, Record-Route and Contact say the one of the family of the side
     * they face, and both are XPP host candidates (docs/decisions/node-peer-dual-stack.md).
     */
    advertise: z
      .array(z.union([z.ipv4(), z.ipv6()]))
      .min(1)
      .max(2)
      .refine(
        (list) => list.length < 2 || list[0]!.includes(':') !== list[1]!.includes(':'),
        'one per family',
      )
      .optional(),
    /**
     * Address the HTTP side (/healthz, /metrics, /status, admin) binds: loopback unless the operator opens it, so
     * the node's figures are not published wherever its SIP side is (admin stays local-only whatever this says).
     */
    httpHost: z.union([z.ipv4(), z.ipv6()]).default('127.0.0.1'),
    /** SIP over UDP and over TCP, both on this port (RFC 3261 §18). */
    sipPort: port.default(5060),
    /** SIP over TLS, when `tlsCert` and `tlsKey` are given. */
    tlsPort: port.default(5061),
    /** PEM certificate chain of SIP over TLS; with `tlsKey`, turns TLS on (`--tls-cert`). */
    tlsCert: z.string().min(1).optional(),
    /** PEM private key of SIP over TLS (`--tls-key`). */
    tlsKey: z.string().min(1).optional(),
    /** SIP over secure WebSocket (RFC 7118), whenever `tlsCert` and `tlsKey` are given. */
    wssPort: port.default(8443),
    /** SIP over plain WebSocket: off unless set (`--ws-port`); browsers on other hosts require WSS. */
    wsPort: port.optional(),
    xppPort: port.default(5070),
    httpPort: port.default(9464),
    /** Keys and local state. */
    dataDir: z.string().min(1).default('./.xpp-node'),
    /**
     * Where the node keeps its records: `disk`, an SQLite file in `dataDir` (`records.db`) that survives a restart,
     * or `memory` (`--memory`), lost when the process ends — for tests and benchmarks.
     */
    store: z.enum(['disk', 'memory']).default('disk'),
    /** CAN dimensions; every peer of an overlay uses the same (spec xpp-pcan §2). */
    dimensions: z.number().int().min(1).max(8).default(4),
    logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    /** Start as a candidate: register with this peer (`host:port` of its SIP side) and wait to be invited. */
    joinVia: z.string().min(1).optional(),
    /**
     * `--new-overlay`: found a new overlay even though the data directory has been in one (a deliberate fork,
     * logged). Without it a restarted peer resumes its overlay, or is refused and told to rejoin.
     */
    newOverlay: z.boolean().default(false),
    /** The AOR a joining candidate registers as (default `sip:peer-<peer id>@<domain>`). */
    joinAor: z.string().min(1).max(1024).optional(),
    /** The digest password of `joinAor`, when the overlay holds a credential for it. */
    joinPassword: z.string().min(1).max(1024).optional(),
    /**
     * The overlay administrator's Ed25519 public key(s), 64 hex digits each, comma-separated: every one is accepted
     * (a key being rotated in). Added to `<dataDir>/admin.pub` (written by `keygen`, or by the first start of a
     * node that founds an overlay) and `<dataDir>/admin-keys/*.pub`.
     */
    adminPublicKey: z
      .string()
      .regex(
        /^[0-9a-fA-F]{64}(\s*,\s*[0-9a-fA-F]{64})*$/,
        '64 hex digits (a raw Ed25519 public key), or several separated by commas',
      )
      .optional(),
    /** This peer's certificate file (spec §5.3 octets). Default `<dataDir>/peer.cert`. */
    certificate: z.string().min(1).optional(),
    /**
     * An enrollment token from `xpp-node peer invite` (`join --token`): proves to the administrator's node that this
     * host may join, and gets its certificate. Used once; ignored while the data directory holds a valid certificate.
     */
    enrollToken: z.string().min(1).max(512).optional(),
    /**
     * `required` (default): every peer session is authenticated with certificates (spec §5.5); a node without a
     * valid certificate does not start. `off`: the unauthenticated sessions of earlier versions — only while an
     * overlay is being moved to certified membership (README "Upgrading to certified membership").
     */
    membership: z.enum(['required', 'off']).default('required'),
    /**
     * Digest challenges offered, in order of preference (default MD5 alone, as Kamailio: stock sipp, libre-based
     * softphones and MD5-only desk phones register). `--digest sha-256,md5` (or `XPP_NODE_DIGEST`) adds SHA-256;
     * README "Digest" lists the clients it breaks.
     */
    digestAlgorithms: z
      .array(z.enum(['SHA-256', 'MD5']))
      .min(1)
      .max(2)
      .refine((list) => new Set(list).size === list.length, 'each algorithm once')
      .optional(),
    /**
     * Forward a local user's requests (From a user whose flow this peer holds, from that flow) to other domains.
     * Default false: the proxy serves its own domain only, everything else is 403.
     */
    foreignCalls: z.boolean().optional(),
    /**
     * Forking of an INVITE to the contacts of a user (docs/decisions/node-peer-forking.md): contacts rung at most
     * (default 8) and Timer C, ms (default 181 000). Config file only.
     */
    forking: z
      .object({
        maxBranches: z.number().int().min(1).max(16).optional(),
        timerCMs: z.number().int().min(1000).optional(),
      })
      .strict()
      .optional(),
    /** Thresholds of the spec §7 invite policy (defaults: @xpp/dht DEFAULT_INVITE_POLICY). Config file only. */
    invitePolicy: z
      .object({
        maxRecords: z.number().int().min(0).optional(),
        maxClients: z.number().int().min(0).optional(),
        maxRequestRate: z.number().min(0).optional(),
        minStableFlowMs: z.number().int().min(0).optional(),
        /** How often the policy is asked, ms (default 5 000). */
        intervalMs: z.number().int().min(50).optional(),
      })
      .strict()
      .optional(),
    /**
     * Server transaction shares (defaults: @xpp/session-sdp DEFAULT_SERVER_TRANSACTION_LIMITS, sized by memory;
     * docs/decisions/node-peer-proxy.md "Overload"). Config file only.
     */
    sipTransactionLimits: z
      .object({
        total: z.number().int().min(1).optional(),
        reserved: z.number().int().min(0).optional(),
        perSource: z.number().int().min(1).optional(),
        perAddress: z.number().int().min(1).optional(),
        otherPerSource: z.number().int().min(0).optional(),
        otherPerAddress: z.number().int().min(0).optional(),
        retryAfterS: z.number().int().min(0).max(86_400).optional(),
      })
      .strict()
      .refine(
        (l) =>
          (l.reserved ?? DEFAULT_SERVER_TRANSACTION_LIMITS.reserved) <=
          (l.total ?? DEFAULT_SERVER_TRANSACTION_LIMITS.total),
        { message: 'reserved must not exceed total', path: ['reserved'] },
      )
      .optional(),
    /**
     * Bounds of SIP over TCP and TLS (defaults: @xpp/session-sdp DEFAULT_STREAM_LIMITS;
     * docs/decisions/session-sdp-stream-transports.md). Config file only.
     */
    sipStreamLimits: z
      .object({
        maxConnections: z.number().int().min(1).optional(),
        maxConnectionsPerAddress: z.number().int().min(1).optional(),
        idleTimeoutMs: z.number().int().min(1_000).optional(),
        messageTimeoutMs: z.number().int().min(100).optional(),
        maxHeaderOctets: z.number().int().min(1_024).optional(),
        maxBodyOctets: z.number().int().min(0).optional(),
      })
      .strict()
      .optional(),
  })
  .strict()
  .refine((c) => (c.tlsCert === undefined) === (c.tlsKey === undefined), {
    message: 'tlsCert and tlsKey go together',
    path: ['tlsKey'],
  })
  .refine((c) => (c.host !== '::' && c.host !== '0.0.0.0') || c.advertise !== undefined, {
    message: 'a wildcard host (:: or 0.0.0.0) names no one: give the addresses to advertise',
    path: ['advertise'],
  });

export type NodeConfig = z.infer<typeof configSchema>;
export type NodeConfigInput = z.input<typeof configSchema>;

/** A configuration layer and where it came from, for error messages that say what to fix. */
export interface ConfigLayer {
  readonly source: string;
  readonly values: Record<string, unknown>;
}

/** Environment variables read, each mapped to its key: `XPP_NODE_SIP_PORT` → `sipPort`. */
export const ENV_VARS: Readonly<Record<string, keyof NodeConfig>> = {
  XPP_NODE_DOMAIN: 'domain',
  XPP_NODE_HOST: 'host',
  XPP_NODE_ADVERTISE: 'advertise',
  XPP_NODE_SIP_PORT: 'sipPort',
  XPP_NODE_XPP_PORT: 'xppPort',
  XPP_NODE_TLS_PORT: 'tlsPort',
  XPP_NODE_TLS_CERT: 'tlsCert',
  XPP_NODE_TLS_KEY: 'tlsKey',
  XPP_NODE_WS_PORT: 'wsPort',
  XPP_NODE_WSS_PORT: 'wssPort',
  XPP_NODE_HTTP_PORT: 'httpPort',
  XPP_NODE_HTTP_HOST: 'httpHost',
  XPP_NODE_DATA_DIR: 'dataDir',
  XPP_NODE_STORE: 'store',
  XPP_NODE_DIMENSIONS: 'dimensions',
  XPP_NODE_LOG_LEVEL: 'logLevel',
  XPP_NODE_JOIN_VIA: 'joinVia',
  XPP_NODE_JOIN_AOR: 'joinAor',
  XPP_NODE_JOIN_PASSWORD: 'joinPassword',
  XPP_NODE_ADMIN_PUBLIC_KEY: 'adminPublicKey',
  XPP_NODE_CERTIFICATE: 'certificate',
  XPP_NODE_ENROLL_TOKEN: 'enrollToken',
  XPP_NODE_MEMBERSHIP: 'membership',
  XPP_NODE_DIGEST: 'digestAlgorithms',
  XPP_NODE_FOREIGN_CALLS: 'foreignCalls',
};

const NUMERIC: ReadonlySet<string> = new Set([
  'sipPort',
  'tlsPort',
  'wsPort',
  'wssPort',
  'xppPort',
  'httpPort',
  'dimensions',
]);

function coerce(key: string, raw: string): unknown {
  // `sha-256,md5` on the command line or in the environment; a config file gives the JSON array itself.
  if (key === 'digestAlgorithms') return raw.split(',').map((name) => name.trim().toUpperCase());
  if (key === 'advertise') return raw.split(',').map((address) => address.trim());
  if (key === 'foreignCalls')
    return raw === 'true' || raw === '1' ? true : raw === 'false' || raw === '0' ? false : raw;
  if (!NUMERIC.has(key)) return raw;
  return /^\d+$/.test(raw.trim()) ? Number(raw) : raw;
}

/** The layer from the environment. */
export function envLayer(env: NodeJS.ProcessEnv): ConfigLayer {
  const values: Record<string, unknown> = {};
  for (const [name, key] of Object.entries(ENV_VARS)) {
    const raw = env[name];
    if (raw !== undefined && raw !== '') values[key] = coerce(key, raw);
  }
  return { source: 'environment', values };
}

/** The layer from a JSON config file. */
export function fileLayer(path: string): ConfigLayer {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (cause) {
    throw new NodeError('CONFIG_FILE', `cannot read config file ${path}: ${(cause as Error).message}`, {
      cause,
    });
  }
  let values: unknown;
  try {
    values = JSON.parse(text);
  } catch (cause) {
    throw new NodeError('CONFIG_FILE', `config file ${path} is not JSON: ${(cause as Error).message}`, {
      cause,
    });
  }
  if (typeof values !== 'object' || values === null || Array.isArray(values)) {
    throw new NodeError('CONFIG_FILE', `config file ${path} must hold a JSON object`);
  }
  return { source: `config file ${path}`, values: values as Record<string, unknown> };
}

/** The layer from command-line flags (commander's camel-cased options; strings for numbers are coerced). */
export function flagLayer(flags: Record<string, unknown>): ConfigLayer {
  const values: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(flags)) {
    if (value === undefined) continue;
    values[key] = typeof value === 'string' ? coerce(key, value) : value;
  }
  return { source: 'command line', values };
}

/**
 * Merges layers, later ones winning (defaults < file < environment < flags), and validates the result.
 * Every problem is reported at once, each with the layer that set the bad value.
 */
export function resolveConfig(layers: readonly ConfigLayer[]): NodeConfig {
  const merged: Record<string, unknown> = {};
  const origin = new Map<string, string>();
  for (const layer of layers) {
    for (const [key, value] of Object.entries(layer.values)) {
      merged[key] = value;
      origin.set(key, layer.source);
    }
  }
  const parsed = configSchema.safeParse(merged);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((issue) => {
    const key =
      issue.path.length > 0 ? issue.path.join('.') : ((issue as { keys?: string[] }).keys?.join(', ') ?? '');
    const from = origin.get(String(issue.path[0] ?? (issue as { keys?: string[] }).keys?.[0] ?? ''));
    return `  ${key}: ${issue.message}${from ? ` (from ${from})` : ''}`;
  });
  throw new NodeError('INVALID_CONFIG', `invalid configuration:\n${problems.join('\n')}`);
}
