import { issuePeerCertificate, type PeerCertificate } from '@xpp/dht';
import type { NodeConfig } from '../config.js';
import type { Logger } from '../logger.js';
import type { NodeMetrics } from '../metrics.js';
import { renewCertificate } from './enrollment-client.js';
import { saveCertificate } from './files.js';
import { enrollmentRecord, type NodeKeys } from './setup.js';

/** How often the certificate's age is looked at, ms. */
export const CERTIFICATE_CHECK_MS = 3_600_000;
/** From how many days before expiry `/healthz` says degraded. */
export const DEGRADED_DAYS = 7;

/**
 * Keeps this peer's certificate from running out (README "Certificates"): once two thirds of its validity passed
 * it is renewed — by this node itself when it holds the administrator key, else through the enrollment path at
 * the administrator node it enrolled with — and when neither can be done it says, loudly and every check, what
 * the operator must run. `xpp_certificate_days_left` and `/healthz` (degraded from {@link DEGRADED_DAYS}) show it.
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
  /** The newest one on disk (what renewal is about); the same unless a renewed one waits for a restart. */
  #latest: PeerCertificate;
  #timer: NodeJS.Timeout | undefined;
  #renewing: Promise<void> | undefined;

  constructor(options: {
    config: NodeConfig;
    keys: NodeKeys;
    certificate: PeerCertificate;
    logger: Logger;
    metrics: NodeMetrics;
    /** Gives the node the renewed certificate; false when it can only present it after a restart. */
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
      this.#latest !== this.#certificate ? ' (a renewed one is in peer.cert: restart the node)' : '';
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
            'host run `xpp-node peer certify <publicKey>` and copy the file to peer.cert here, then restart',
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
    this.#latest = renewed;
    const notAfter = new Date(renewed.notAfter * 1000).toISOString();
    if (this.#onRenewed(renewed)) {
      this.#certificate = renewed;
      this.#logger.info({ notAfter }, 'peer certificate renewed');
    } else {
      this.#logger.warn(
        { notAfter, inUseUntil: new Date(this.#certificate.notAfter * 1000).toISOString() },
        'peer certificate renewed and saved to peer.cert; the node presents it from its next start: restart it ' +
          'before the one in use expires',
      );
    }
  }

  #update(): void {
    this.#metrics.certificateDaysLeft.set(Math.max(0, this.daysLeft()));
  }
}
