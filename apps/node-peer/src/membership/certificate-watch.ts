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
  readonly #onRenewed: (certificate: PeerCertificate) => void;
  readonly #now: () => number;
  #certificate: PeerCertificate;
  #timer: NodeJS.Timeout | undefined;
  #renewing: Promise<void> | undefined;

  constructor(options: {
    config: NodeConfig;
    keys: NodeKeys;
    certificate: PeerCertificate;
    logger: Logger;
    metrics: NodeMetrics;
    onRenewed?: (certificate: PeerCertificate) => void;
    now?: () => number;
  }) {
    this.#config = options.config;
    this.#keys = options.keys;
    this.#certificate = options.certificate;
    this.#logger = options.logger;
    this.#metrics = options.metrics;
    this.#onRenewed = options.onRenewed ?? (() => undefined);
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
    return left < DEGRADED_DAYS ? `peer certificate expires in ${left.toFixed(1)} days` : undefined;
  }

  /** Whether two thirds of the validity have passed. */
  renewalDue(): boolean {
    const { notBefore, notAfter } = this.#certificate;
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
      const validity = this.#certificate.notAfter - this.#certificate.notBefore;
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
      renewed = await renewCertificate(admin, this.#certificate, {
        identity,
        domain: this.#config.domain,
        admins: this.#keys.admins,
        host: this.#config.host,
      });
    }
    saveCertificate(renewed, this.#config.dataDir, this.#config.certificate);
    this.#certificate = renewed;
    this.#onRenewed(renewed);
    this.#logger.info(
      { notAfter: new Date(renewed.notAfter * 1000).toISOString() },
      'peer certificate renewed',
    );
  }

  #update(): void {
    this.#metrics.certificateDaysLeft.set(Math.max(0, this.daysLeft()));
  }
}
