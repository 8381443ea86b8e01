import { join } from 'node:path';
import {
  AdminKeySet,
  createCredentialVerifier,
  createDefaultInvitePolicy,
  createRemovalVerifier,
  createRevocationVerifier,
  OverlayNode,
  type SignedCredential,
} from '@xpp/dht';
import { systemClock } from '@xpp/reliability';
import { AdminRequestGuard } from './admin-auth.js';
import type { NodeConfig } from './config.js';
import { CREDENTIAL_REFRESH_MS, CredentialKeeper } from './credential-keeper.js';
import { DATA_FILES, loadNodeKeys, loadRecordRouteKey, type NodeKeys } from './data-dir.js';
import { startOpsHttpServer, type OpsHttpServer } from './http-server.js';
import { createLogger, type Logger } from './logger.js';
import { NodeMetrics } from './metrics.js';
import { registerAsCandidate } from './sip/candidate.js';
import { SipFront } from './sip/front.js';
import {
  onFlowConnectionClosed,
  openSipTransports,
  sipStreamStatus,
  type NodeSipTransports,
} from './sip/transports.js';
import { nodeStatus, observeOverlay, syncMetrics, type NodeStatus } from './status.js';
import { SqliteRecordStore } from './store/sqlite-record-store.js';

export interface StartNodeOptions {
  /** Default: pino on stdout at the configured level (pretty in a terminal). */
  readonly logger?: Logger;
  /** Default: a fresh registry with process metrics. */
  readonly metrics?: NodeMetrics;
}

/** A running node: what `xpp-node start` and `join` hold until a signal ends them. */
export interface NodeHandle {
  readonly config: NodeConfig;
  readonly node: OverlayNode;
  readonly front: SipFront;
  readonly metrics: NodeMetrics;
  readonly logger: Logger;
  readonly keys: NodeKeys;
  /** The SIP sockets: UDP and TCP on the SIP port, TLS when configured (their counters). */
  readonly sipTransports: NodeSipTransports;
  /**
   * Bound ports (the configured ones, or what the system chose for 0). `sip` serves UDP and TCP; `sipTls` and
   * `sipWss` are there when TLS is configured, `sipWs` when plain WebSocket is.
   */
  readonly ports: {
    readonly sip: number;
    readonly sipTls?: number;
    readonly sipWs?: number;
    readonly sipWss?: number;
    readonly xpp: number;
    readonly http: number;
  };
  /** Settles once this node is a peer: at once for a first peer, when invited for a candidate. */
  readonly ready: Promise<void>;
  status(): NodeStatus;
  /** Checks a signed CREDENTIAL value, stores it in the overlay and keeps republishing it. */
  addCredential(value: Uint8Array): Promise<SignedCredential>;
  /** Graceful stop: hands zone and records to a neighbour (LEAVE), then closes everything. */
  leave(): Promise<void>;
  /** Immediate stop: closes sockets and sessions without handing anything over. */
  close(): Promise<void>;
}

/** `options` without its undefined entries (zod's optional keys against exact optional property types). */
function definedOnly<T extends object>(options: T): { [K in keyof T]?: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) as {
    [K in keyof T]?: Exclude<T[K], undefined>;
  };
}

/** The default AOR a candidate registers as: one per peer id, in the overlay's domain. */
export function candidateAor(config: Pick<NodeConfig, 'domain'>, peerIdHex: string): string {
  return `sip:peer-${peerIdHex.slice(0, 16)}@${config.domain}`;
}

/**
 * The node's durable record store, `<dataDir>/records.db`, checking credentials, their removals and
 * revocations with the overlay's key (what the node would give its own store from `adminPublicKey`).
 */
function openStore(config: NodeConfig, keys: NodeKeys, logger: Logger): SqliteRecordStore {
  const store = SqliteRecordStore.open({
    file: join(config.dataDir, DATA_FILES.records),
    clock: systemClock,
    verifyCredential: createCredentialVerifier(keys.adminPublicKey),
    verifyCredentialRemoval: createRemovalVerifier(keys.adminPublicKey),
    verifyRevocation: createRevocationVerifier(new AdminKeySet([keys.adminPublicKey])),
  });
  const { records, expired, refused, schema, ms } = store.loaded;
  logger.info(
    { file: store.file, records, expired, refused, schema: schema.to, ms: Math.round(ms) },
    'record store opened',
  );
  return store;
}

/**
 * Assembles a node (README: "What a node runs"): keys from the data directory, the overlay node on the configured
 * ports sharing its SIP socket with the registrar/proxy front, the first peer of a new overlay or a candidate that
 * registers with `joinVia` and waits for its invitation, and the HTTP side (/healthz, /metrics, /status, admin).
 */
export async function startNode(config: NodeConfig, options: StartNodeOptions = {}): Promise<NodeHandle> {
  const logger = options.logger ?? createLogger(config);
  const metrics = options.metrics ?? new NodeMetrics();
  const joining = config.joinVia !== undefined;
  const keys = loadNodeKeys(config.dataDir, {
    adminPublicKey: config.adminPublicKey,
    createAdmin: !joining,
  });
  const keeper = new CredentialKeeper(config.dataDir, keys.adminPublicKey);
  // Opened before anything else runs: a damaged file stops the start here, with nothing to undo.
  const store = config.store === 'disk' ? openStore(config, keys, logger) : undefined;
  const { intervalMs, ...policy } = config.invitePolicy ?? {};
  const front = new SipFront({
    domain: config.domain,
    adminPublicKey: keys.adminPublicKey,
    invitePolicy: createDefaultInvitePolicy(definedOnly(policy)),
    ...(intervalMs === undefined ? {} : { inviteIntervalMs: intervalMs }),
    ...(config.digestAlgorithms === undefined ? {} : { digestAlgorithms: config.digestAlgorithms }),
    recordRouteKey: loadRecordRouteKey(config.dataDir),
    foreignCalls: config.foreignCalls === true,
    ...(config.sipTransactionLimits === undefined
      ? {}
      : { transactionLimits: definedOnly(config.sipTransactionLimits) }),
    logger: logger.child({ part: 'sip' }),
  });
  // UDP and TCP on the SIP port, TLS when configured (README "Ports"); the node owns them from here on.
  const sipTransports = await openSipTransports(config);
  // A client's connection closing is its RFC 5626 flow dying (docs/decisions/node-peer-websocket-outbound.md).
  onFlowConnectionClosed(sipTransports, (remote) => front.connectionClosed(remote));
  let node: OverlayNode;
  try {
    node = await OverlayNode.create({
      host: config.host,
      transports: { sip: sipTransports.set, xpp: sipTransports.xpp },
      dimensions: config.dimensions,
      peerId: keys.peerId,
      clock: systemClock,
      // A store instance checks credentials itself (the node refuses adminPublicKey beside one).
      ...(store === undefined ? { adminPublicKey: keys.adminPublicKey } : { store }),
      ...front.hooks,
    });
  } catch (error) {
    await Promise.all([sipTransports.set.close(), sipTransports.xpp.close()]);
    store?.close();
    throw error;
  }
  front.attach(node);
  observeOverlay(node, metrics, logger);
  for (const event of ['registered', 'unregistered', 'invited', 'call'] as const) {
    front.on(event, (detail: unknown) => {
      metrics.sipEvents.inc({ event });
      logger.debug({ event, detail }, `sip ${event}`);
    });
  }

  let closing: Promise<void> | undefined;
  let refresh: NodeJS.Timeout | undefined;
  const abort = new AbortController();
  const stop = (graceful: boolean): Promise<void> =>
    (closing ??= (async () => {
      abort.abort();
      if (refresh !== undefined) clearInterval(refresh);
      await http.close();
      await front.close();
      if (graceful && node.state === 'peer') {
        try {
          await node.leave();
          logger.info('left the overlay, zone and records handed over');
        } catch (error) {
          logger.warn({ err: error }, 'leave failed; closing');
        }
      }
      await node.close();
      store?.close();
      logger.info('stopped');
    })());

  const becomePeer = (): void => {
    logger.info({ zones: node.zones.map((z) => z.path) }, 'serving as a peer');
    void keeper.republish(node).then((n) => {
      if (keeper.size > 0) logger.info({ stored: n, kept: keeper.size }, 'credentials republished');
    });
    refresh = setInterval(() => void keeper.republish(node), CREDENTIAL_REFRESH_MS);
    refresh.unref();
  };

  let ready: Promise<void>;
  if (!joining) {
    node.bootstrap();
    becomePeer();
    ready = Promise.resolve();
  } else {
    const aor = config.joinAor ?? candidateAor(config, node.id);
    logger.info({ via: config.joinVia, aor }, 'joining: registering as a candidate, waiting to be invited');
    ready = registerAsCandidate(node, config.joinVia as string, {
      aor,
      ...(config.joinPassword === undefined ? {} : { password: config.joinPassword }),
      signal: abort.signal,
    }).then(becomePeer);
    ready.catch((error: unknown) => {
      if (!abort.signal.aborted) logger.error({ err: error }, 'joining failed');
    });
  }

  let http: OpsHttpServer;
  try {
    http = await startOpsHttpServer({
      host: config.httpHost,
      port: config.httpPort,
      metrics,
      isServing: () => closing === undefined && node.state === 'peer',
      status: () => nodeStatus(node, front, config, sipStreamStatus(sipTransports)),
      beforeScrape: () => syncMetrics(metrics, node, front, sipStreamStatus(sipTransports)),
      admin: {
        guard: new AdminRequestGuard(keys.adminPublicKey),
        addCredential: async (value) => {
          const c = await keeper.add(node, value);
          logger.info({ aor: c.aor, serial: c.serial }, 'credential stored');
          return { aor: c.aor, username: c.username, realm: c.realm, serial: c.serial };
        },
      },
    });
  } catch (error) {
    abort.abort();
    if (refresh !== undefined) clearInterval(refresh);
    await front.close();
    await node.close();
    store?.close();
    throw error;
  }
  const ports = {
    sip: node.ua.local.port,
    ...(sipTransports.tls === undefined ? {} : { sipTls: sipTransports.tls.local.port }),
    ...(sipTransports.ws === undefined ? {} : { sipWs: sipTransports.ws.local.port }),
    ...(sipTransports.wss === undefined ? {} : { sipWss: sipTransports.wss.local.port }),
    xpp: node.endpoint.address.port,
    http: http.port,
  };
  logger.info(
    { peerId: node.id, domain: config.domain, host: config.host, httpHost: config.httpHost, ports },
    'node started',
  );

  return {
    config,
    node,
    front,
    metrics,
    logger,
    keys,
    sipTransports,
    ports,
    ready,
    status: () => nodeStatus(node, front, config, sipStreamStatus(sipTransports)),
    addCredential: (value) => keeper.add(node, value),
    leave: () => stop(true),
    close: () => stop(false),
  };
}
