import { join } from 'node:path';
import {
  createCredential,
  createCredentialVerifier,
  createDefaultInvitePolicy,
  createRemovalVerifier,
  createRevocationVerifier,
  encodeCredential,
  OverlayNode,
  RecordKind,
  revocationKey,
  signCredential,
  type SignedCredential,
} from '@xpp/dht';
import { systemClock, type Clock } from '@xpp/reliability';
import { AdminRequestGuard } from './admin-auth.js';
import type { NodeConfig } from './config.js';
import { DATA_FILES, loadRecordRouteKey } from './data-dir.js';
import { AdminRefused, membershipRoutes } from './membership/admin-routes.js';
import { CertificateWatch, presentRenewal } from './membership/certificate-watch.js';
import { EnrollmentServer } from './membership/enrollment-server.js';
import { loadMembership, type NodeKeys } from './membership/setup.js';
import { EnrollmentTokens } from './membership/tokens.js';
import {
  ADMIN_EXPORT_PATH,
  ADMIN_LOOKUP_PATH,
  ADMIN_REMOVALS_PATH,
  startOpsHttpServer,
  type OpsHttpServer,
} from './http-server.js';
import { createLogger, type Logger } from './logger.js';
import { NodeMetrics } from './metrics.js';
import { joinThrough } from './sip/candidate.js';
import { SipFront } from './sip/front.js';
import {
  onFlowConnectionClosed,
  openSipTransports,
  sipStreamStatus,
  type NodeSipTransports,
} from './sip/transports.js';
import { nodeStatus, observeOverlay, syncMetrics, type NodeStatus } from './status.js';
import { overlayStart, persistPeerState } from './overlay-start.js';
import { SqliteRecordStore } from './store/sqlite-record-store.js';
import {
  importLegacyCredentials,
  lookupCredential,
  storeCredential,
  storeRemoval,
} from './users/credential-writes.js';

export interface StartNodeOptions {
  /** Default: pino on stdout at the configured level (pretty in a terminal). */
  readonly logger?: Logger;
  /** Default: a fresh registry with process metrics. */
  readonly metrics?: NodeMetrics;
  /**
   * Time and timers of what the node runs — overlay, record store (monotonic and wall-clock expiries), SIP front,
   * candidate back-off, certificate checks. Default the system clock; a test moves days on. Not the admin
   * endpoint's freshness check: the CLI signs its requests with the host's own time.
   */
  readonly clock?: Clock;
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
  /**
   * Settles when this restarted peer lost every zone in a double-ownership repair (a lower id took it over while
   * it was down), handed its records back and closed, with "no zones" persisted: its next start is a candidate.
   * `xpp-node` then exits with `REJOIN_EXIT` for its supervisor to start it again (node-peer-rejoin.md).
   */
  readonly evicted: Promise<void>;
  status(): NodeStatus;
  /** Checks a signed CREDENTIAL value and stores it in the overlay (its holders keep it). */
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

/**
 * The exit code of `xpp-node` when its peer lost its zones in a double-ownership repair and left (EX_TEMPFAIL,
 * sysexits.h: try again): a supervisor's restart (compose `restart:`, systemd `Restart=on-failure`) rejoins it.
 */
export const REJOIN_EXIT = 75;

/** How long the hand-back and departure of a peer that lost a repair may take (each LEAVE has a 10 s deadline). */
const DEPART_DEADLINE_MS = 30_000;

/** Settles once `node` has closed itself (it departs after handing back what it lost), or after the deadline. */
function whenClosed(node: OverlayNode, clock: Clock): Promise<void> {
  const started = clock.now();
  return new Promise((resolve) => {
    const look = (): void => {
      if (node.state === 'closed' || clock.now() - started >= DEPART_DEADLINE_MS) resolve();
      else clock.setTimer(look, 100);
    };
    look();
  });
}

/** `host` as it goes before `:port` (an IPv6 literal in brackets). */
function formatHostPort(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

/** The default AOR a candidate registers as: one per peer id, in the overlay's domain. */
export function candidateAor(config: Pick<NodeConfig, 'domain'>, peerIdHex: string): string {
  return `sip:peer-${peerIdHex.slice(0, 16)}@${config.domain}`;
}

/**
 * The node's durable record store, `<dataDir>/records.db`, checking credentials, their removals and revocations
 * with every accepted administrator key (what the node would give its own store from `adminPublicKey`).
 */
function openStore(config: NodeConfig, keys: NodeKeys, logger: Logger, clock: Clock): SqliteRecordStore {
  const store = SqliteRecordStore.open({
    file: join(config.dataDir, DATA_FILES.records),
    clock,
    verifyCredential: createCredentialVerifier(keys.admins),
    verifyCredentialRemoval: createRemovalVerifier(keys.admins),
    verifyRevocation: createRevocationVerifier(keys.admins),
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
  const clock = options.clock ?? systemClock;
  const joining = config.joinVia !== undefined;
  const keys = await loadMembership(config, { joining, logger });
  // Opened before anything else runs: a damaged file stops the start here, with nothing to undo.
  const store = config.store === 'disk' ? openStore(config, keys, logger, clock) : undefined;
  let start;
  try {
    start = overlayStart({
      state: store?.peerState.read(),
      joinVia: config.joinVia,
      newOverlay: config.newOverlay,
      dataDir: config.dataDir,
      dimensions: config.dimensions,
    });
  } catch (error) {
    store?.close();
    throw error;
  }
  const { intervalMs, ...policy } = config.invitePolicy ?? {};
  const front = new SipFront({
    domain: config.domain,
    adminPublicKey: keys.admins,
    invitePolicy: createDefaultInvitePolicy(definedOnly(policy)),
    ...(intervalMs === undefined ? {} : { inviteIntervalMs: intervalMs }),
    ...(config.digestAlgorithms === undefined ? {} : { digestAlgorithms: config.digestAlgorithms }),
    recordRouteKey: loadRecordRouteKey(config.dataDir),
    foreignCalls: config.foreignCalls === true,
    ...(config.forking?.maxBranches === undefined ? {} : { maxForkBranches: config.forking.maxBranches }),
    ...(config.forking?.timerCMs === undefined ? {} : { timerCMs: config.forking.timerCMs }),
    // The peer's certified identity signs the callers it verified for the next peer (XPP-Identity).
    ...(keys.certificate === undefined
      ? {}
      : { membership: { identity: keys.identity, certificate: keys.certificate, admins: keys.admins } }),
    ...(config.sipTransactionLimits === undefined
      ? {}
      : { transactionLimits: definedOnly(config.sipTransactionLimits) }),
    logger: logger.child({ part: 'sip' }),
    clock,
  });
  // The administrator's node answers enrollment requests (token proofs and renewals) on its SIP socket.
  let enrollment: EnrollmentServer | undefined;
  const tokens = keys.adminPrivateKey === undefined ? undefined : new EnrollmentTokens(config.dataDir);
  // UDP and TCP on the SIP port, TLS when configured (README "Ports"); the node owns them from here on.
  const sipTransports = await openSipTransports(config);
  // A client's connection closing is its RFC 5626 flow dying (docs/decisions/node-peer-websocket-outbound.md).
  onFlowConnectionClosed(sipTransports, (remote) => front.connectionClosed(remote));
  const node = await OverlayNode.create({
    host: config.host,
    ...(config.advertise === undefined ? {} : { hostAddresses: config.advertise }),
    transports: { sip: sipTransports.set, xpp: sipTransports.xpp },
    dimensions: config.dimensions,
    peerId: keys.peerId,
    ...(start.kind === 'found' || start.overlayId === undefined ? {} : { overlayId: start.overlayId }),
    clock,
    // Certified membership (spec §5.4–5.5): every call placed or accepted is authenticated by certificate, and the
    // session's peer is the certified one. Off only while an overlay is upgraded (README).
    ...(config.membership === 'required' && keys.certificate !== undefined
      ? {
          membership: {
            identity: keys.identity,
            certificate: keys.certificate,
            admins: keys.admins,
            domain: config.domain,
          },
        }
      : {}),
    // Credentials, removals and REVOCATION records are stored only under an administrator signature, any key of
    // the set (spec §5.3, §5.6); a store instance checks them itself (the node refuses adminPublicKey beside one).
    ...(store === undefined ? { adminPublicKey: keys.admins } : { store }),
    ...front.hooks,
    onSipRequest: (request, transaction, source) =>
      enrollment?.onRequest(request, transaction, source) === true ||
      front.hooks.onSipRequest(request, transaction, source),
  }).catch(async (error: unknown) => {
    await Promise.all([sipTransports.set.close(), sipTransports.xpp.close()]);
    store?.close();
    throw error;
  });
  if (keys.adminPrivateKey !== undefined && tokens !== undefined) {
    const adminKey = keys.adminPrivateKey;
    enrollment = new EnrollmentServer({
      domain: config.domain,
      adminPrivateKey: adminKey,
      admins: keys.admins,
      tokens,
      isRevoked: async (peerIdHex) =>
        (await node.get(revocationKey(peerIdHex), RecordKind.REVOCATION)).length > 0,
      addCandidateUser: async (peerIdHex, password) => {
        const aor = candidateAor(config, peerIdHex);
        const credential = signCredential(
          createCredential({ aor, realm: config.domain, password, serial: Math.floor(Date.now() / 1000) }),
          adminKey,
        );
        await storeCredential(node, keys.admins, encodeCredential(credential));
      },
      onRefused: (reason) => metrics.enrollments.inc({ kind: 'any', result: reason }),
      onIssued: (_, kind) => metrics.enrollments.inc({ kind, result: 'issued' }),
      logger: logger.child({ part: 'enrollment' }),
    });
  }
  front.attach(node);
  observeOverlay(node, metrics, logger);
  for (const event of ['registered', 'unregistered', 'invited', 'call'] as const) {
    front.on(event, (detail: unknown) => {
      metrics.sipEvents.inc({ event });
      logger.debug({ event, detail }, `sip ${event}`);
    });
  }

  const watch =
    keys.certificate === undefined
      ? undefined
      : new CertificateWatch({
          config,
          keys,
          certificate: keys.certificate,
          logger,
          metrics,
          // Presented at once in new sessions and ORIGINs: a long-running peer never outlives its certificate.
          onRenewed: presentRenewal(node, logger),
          now: () => clock.wallNow(),
        });

  let unpersist: (() => void) | undefined;
  let closing: Promise<void> | undefined;
  const abort = new AbortController();
  const stop = (graceful: boolean): Promise<void> =>
    (closing ??= (async () => {
      // Before anything closes: the neighbours a stop hangs up are still this peer's to rejoin through.
      unpersist?.();
      abort.abort();
      watch?.stop();
      await http.close();
      await front.close();
      if (graceful && node.state === 'peer') {
        try {
          await node.leave();
          // What it handed over is another peer's now: the next start rejoins as a candidate instead of resuming
          // it (the last peer of an overlay hands nothing over and keeps its zone to resume).
          const zones = node.zones.map((z) => z.path);
          if (store !== undefined) store.peerState.write({ ...store.peerState.read(), zones });
          logger.info('left the overlay, zone and records handed over');
        } catch (error) {
          logger.warn({ err: error }, 'leave failed; closing');
        }
      }
      await node.close();
      store?.close();
      logger.info('stopped');
    })());

  // From the first zone change on (a JOIN included), not from when `ready` settles: a kill a moment after the
  // invitation must still find the overlay id and zone on disk.
  if (store !== undefined) unpersist = persistPeerState(node, store.peerState, logger);
  const becomePeer = (): void => {
    logger.info({ overlayId: node.overlayId, zones: node.zones.map((z) => z.path) }, 'serving as a peer');
    // Credentials live with their holders now; an older release's credentials.json is stored once, then renamed.
    importLegacyCredentials(config.dataDir, node, keys.admins, logger).catch((error: unknown) =>
      logger.warn({ err: error }, 'legacy credentials import failed'),
    );
  };

  let onEvicted!: () => void;
  const evicted = new Promise<void>((resolve) => (onEvicted = resolve));
  node.on('zone-change', (event) => {
    if (event.cause !== 'repair' || event.zones.length > 0) return;
    logger.error(
      'gave its zones up to a neighbour that took them over while this peer was down (lower id keeps): ' +
        `it owns nothing and leaves; exiting with ${REJOIN_EXIT} for its supervisor to start it as a candidate`,
    );
    // Written here too, not only by persistPeerState: the next start must be a candidate, never a resume.
    if (store !== undefined) store.peerState.write({ ...store.peerState.read(), zones: [] });
    void whenClosed(node, clock)
      .then(() => stop(false))
      .then(onEvicted, (error: unknown) => {
        logger.error({ err: error }, 'closing after the lost repair failed');
        onEvicted();
      });
  });

  let ready: Promise<void>;
  if (start.kind === 'resume') {
    node.resume(start);
    logger.info(
      {
        overlayId: node.overlayId,
        zones: start.zones.map((z) => z.path),
        neighbours: start.neighbours.map((n) => n.id.slice(0, 16)),
      },
      start.neighbours.length === 0
        ? 'resuming overlay (was its only peer)'
        : 'resuming overlay: zones taken back, calling the persisted neighbours',
    );
    becomePeer();
    ready = Promise.resolve();
  } else if (start.kind === 'found') {
    node.bootstrap();
    if (config.newOverlay)
      logger.warn({ overlayId: node.overlayId }, `--new-overlay: founding overlay ${node.overlayId ?? ''}`);
    else logger.info({ overlayId: node.overlayId }, `founding overlay ${node.overlayId ?? ''}`);
    becomePeer();
    ready = Promise.resolve();
  } else {
    const aor = config.joinAor ?? candidateAor(config, node.id);
    // An enrolled host's candidate AOR has a password derived from its token (the administrator node stored it).
    const password =
      config.joinPassword ?? (config.joinAor === undefined ? keys.enrolledPassword : undefined);
    logger.info({ via: start.via, aor }, 'joining: registering as a candidate, waiting to be invited');
    ready = joinThrough(node, start.via, {
      aor,
      ...(password === undefined ? {} : { password }),
      signal: abort.signal,
      logger,
      clock,
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
      degraded: () => watch?.degraded(),
      status: () => nodeStatus(node, front, config, sipStreamStatus(sipTransports)),
      beforeScrape: () => syncMetrics(metrics, node, front, sipStreamStatus(sipTransports)),
      admin: {
        guard: new AdminRequestGuard(keys.admins),
        routes: {
          ...membershipRoutes({
            node,
            keys,
            tokens,
            sipAddress: () => `${formatHostPort(node.ua.local.address)}:${node.ua.local.port}`,
            logger,
          }),
          [ADMIN_REMOVALS_PATH]: async (value) => {
            const removal = await storeRemoval(node, keys.admins, value);
            logger.info(
              { aor: removal.aor, serial: removal.serial },
              'credential removed (tombstone stored)',
            );
            return { aor: removal.aor, serial: removal.serial };
          },
          // The walk's pages are sealed to the grant's one-time key: this node relays them, it cannot read them.
          [ADMIN_EXPORT_PATH]: async (grant) => {
            const found = await node.exportCredentials(grant);
            logger.info(
              { owners: found.owners, requests: found.requests, missed: found.missed.length },
              'credential export walked the overlay',
            );
            return {
              pages: found.pages.map((p) => Buffer.from(p).toString('hex')),
              owners: found.owners,
              requests: found.requests,
              missed: found.missed,
            };
          },
          [ADMIN_LOOKUP_PATH]: async (payload) => {
            const aor = Buffer.from(payload).toString('utf8');
            const view = await lookupCredential(node, aor);
            if (view === undefined)
              throw new AdminRefused(404, `${aor} has no credential (xpp-node user add)`);
            return { ...view };
          },
        },
        addCredential: async (value) => {
          const c = await storeCredential(node, keys.admins, value);
          logger.info({ aor: c.aor, serial: c.serial }, 'credential stored');
          return { aor: c.aor, username: c.username, realm: c.realm, serial: c.serial };
        },
      },
    });
  } catch (error) {
    abort.abort();
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
  watch?.start();
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
    evicted,
    status: () => nodeStatus(node, front, config, sipStreamStatus(sipTransports)),
    addCredential: (value) => storeCredential(node, keys.admins, value),
    leave: () => stop(true),
    close: () => stop(false),
  };
}
