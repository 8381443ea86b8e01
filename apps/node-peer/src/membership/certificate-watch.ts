import { issuePeerCertificate, type PeerCertificate } from '@xpp/dht';
import type { NodeConfig } from '../config.js';
import type { Logger } from '../logger.js';
import type { NodeMetrics } from '../metrics.js';
import { renewCertificate } from './enrollment-client.js';
import { loadCertificate, saveCertificate } from './files.js';
import { enrollmentRecord, type NodeKeys } from './setup.js';

/** How often the certificate's age is looked at, ms. */
export const CERTIFICATE_CHECK_MS = 3_600_000;
/** From how many days before expiry `/healthz` says degraded. */
export const DEGRADED_DAYS = 7;

/** What of the overlay node a renewal is given to (`OverlayNode.renewCertificate`). */
export interface RenewableNode {
  /** Presents `certificate` from now on; throws (a `DhtError`) when it refuses it. */
  renewCertificate(certificate: PeerCertificate): void;
}

/**
 * The `onRenewed` of a running node (docs/decisions/dht-certificate-renewal.md): the node presents the renewed
 * certificate at once. A certificate the node refuses (not for its key, not signed by an accepted administrator key,
 * not valid now, not newer) is logged and left on disk: false, the node goes on with the one in use.
 */
export function presentRenewal(
  node: RenewableNode,
  logger: Logger,
): (certificate: PeerCertificate) => boolean {
  return (certificate) => {
    try {
      node.renewCertificate(certificate);
      return true;
    } catch (error) {
      logger.error({ err: error }, 'the node refused its renewed certificate; it presents the one in use');
      return false;
    }
  };
}

/**
 * Keeps this peer's certificate from running out (README "Certificates"): once two thirds of its validity passed
 * it is renewed — by this node itself when it holds the administrator key, else through the enrollment path at
 * the administrator node it enrolled with — and when neither can be done it says, loudly and every check, what
 * the operator must run; a newer certificate copied into `peer.cert` by hand is taken at the next check. The
 * running node is given the renewal at once (`onRenewed`, {@link presentRenewal}): no restart.
 * `xpp_certificate_days_left` and `/healthz` (degraded from {@link DEGRADED_DAYS}) follow the one presented.
 */
export class CertificateWatch {
  readonly #config: NodeConfig;
  readonly #keys: NodeKeys;
  readonly #logger: Logger;
  readonly #metrics: NodeMetrics;
  readonly #onRenewed: (certificate: PeerCertificate) => boolean;
  readonly #now: () => number;
  /** The certificate the node presents (what expiry, days left and degraded are about). */
  #certificate: PeerCertificate;
  /** The newest one on disk (what renewal is about); the same unless the node refused a renewed one. */
  #latest: PeerCertificate;
  #timer: NodeJS.Timeout | undefined;
  #renewing: Promise<void> | undefined;

  constructor(options: {
    config: NodeConfig;
    keys: NodeKeys;
    certificate: PeerCertificate;
    logger: Logger;
    metrics: NodeMetrics;
    /** Gives the running node the renewed certificate; false when it does not present it (it refused it). */
    onRenewed?: (certificate: PeerCertificate) => boolean;
    now?: () => number;
  }) {
    this.#config = options.config;
    this.#keys = options.keys;
    this.#certificate = options.certificate;
    this.#latest = options.certificate;
    this.#logger = options.logger;
    this.#metrics = options.metrics;
    this.#onRenewed = options.onRenewed ?? (() => true);
    this.#now = options.now ?? Date.now;
  }

  get certificate(): PeerCertificate {
    return this.#certificate;
  }

  /** Days until expiry (fractional; negative once expired). */
  daysLeft(): number {
    return (this.#certificate.notAfter - this.#now() / 1000) / 86_400;
  }

  /** Why `/healthz` says degraded, or undefined. */
  degraded(): string | undefined {
    const left = this.daysLeft();
    if (left >= DEGRADED_DAYS) return undefined;
    const waiting =
      this.#latest !== this.#certificate
        ? ' (the node refused the renewed one in peer.cert: see its log)'
        : '';
    return `peer certificate expires in ${left.toFixed(1)} days${waiting}`;
  }

  /** Whether two thirds of the validity of the newest certificate have passed. */
  renewalDue(): boolean {
    const { notBefore, notAfter } = this.#latest;
    return this.#now() / 1000 >= notBefore + ((notAfter - notBefore) * 2) / 3;
  }

  start(): void {
    this.#update();
    void this.check();
    this.#timer = setInterval(() => void this.check(), CERTIFICATE_CHECK_MS);
    this.#timer.unref();
  }

  stop(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
  }

  /** Renews when due; never throws (a failure is logged and tried again at the next check). */
  check(): Promise<void> {
    this.#adoptFromDisk();
    this.#update();
    if (!this.renewalDue()) return Promise.resolve();
    this.#renewing ??= this.#renew()
      .catch((error: unknown) =>
        this.#logger.error(
          { err: error, daysLeft: Math.floor(this.daysLeft()) },
          'certificate renewal failed; tried again within the hour',
        ),
      )
      .finally(() => {
        this.#renewing = undefined;
        this.#update();
      });
    return this.#renewing;
  }

  async #renew(): Promise<void> {
    const identity = this.#keys.identity;
    let renewed: PeerCertificate;
    if (this.#keys.adminPrivateKey !== undefined) {
      const now = Math.floor(this.#now() / 1000);
      const validity = this.#latest.notAfter - this.#latest.notBefore;
      renewed = issuePeerCertificate(
        {
          publicKey: identity.publicKey,
          domain: this.#config.domain,
          notBefore: now,
          notAfter: now + validity,
        },
        this.#keys.adminPrivateKey,
      );
    } else {
      const admin = enrollmentRecord(this.#config.dataDir)?.admin;
      if (admin === undefined) {
        this.#logger.error(
          {
            daysLeft: Math.floor(this.daysLeft()),
            publicKey: Buffer.from(identity.publicKey).toString('hex'),
          },
          "the peer certificate must be renewed by hand (certified without enrollment): on the administrator's " +
            'host run `xpp-node peer certify <publicKey>` and copy the file to peer.cert here (taken within the hour)',
        );
        return;
      }
      renewed = await renewCertificate(admin, this.#latest, {
        identity,
        domain: this.#config.domain,
        admins: this.#keys.admins,
        host: this.#config.host,
      });
    }
    saveCertificate(renewed, this.#config.dataDir, this.#config.certificate);
    this.#present(renewed, 'peer certificate renewed');
  }

  /** A certificate in peer.cert newer than the newest known: one the operator copied there by hand. */
  #adoptFromDisk(): void {
    let onDisk: PeerCertificate | undefined;
    try {
      onDisk = loadCertificate(this.#config.dataDir, this.#config.certificate);
    } catch (error) {
      this.#logger.warn({ err: error }, 'peer.cert cannot be read; the node presents the one in use');
      return;
    }
    if (onDisk !== undefined && onDisk.notAfter > this.#latest.notAfter)
      this.#present(onDisk, 'peer certificate taken from peer.cert');
  }

  #present(renewed: PeerCertificate, what: string): void {
    this.#latest = renewed;
    const notAfter = new Date(renewed.notAfter * 1000).toISOString();
    if (this.#onRenewed(renewed)) {
      this.#certificate = renewed;
      this.#logger.info({ notAfter }, what);
    } else {
      this.#logger.warn(
        { notAfter, inUseUntil: new Date(this.#certificate.notAfter * 1000).toISOString() },
        `${what} and kept in peer.cert, but the node does not present it: it goes on with the one in use`,
      );
    }
    this.#update();
  }

  #update(): void {
    this.#metrics.certificateDaysLeft.set(Math.max(0, this.daysLeft()));
  }
}
