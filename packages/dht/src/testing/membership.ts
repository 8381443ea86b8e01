import type { KeyObject } from 'node:crypto';
import { generateAdminKeyPair } from '../admin-keys.js';
import { AdminKeySet } from '../membership/admin-key-set.js';
import {
  encodePeerCertificate,
  issuePeerCertificate,
  type PeerCertificate,
} from '../membership/certificate.js';
import { importPeerIdentity, signWithIdentity, type PeerIdentity } from '../membership/identity.js';
import { createPeerAuthenticator, type SessionAuthenticator } from '../membership/peer-authenticator.js';
import { encodeRevocation, issueRevocation } from '../membership/revocation.js';
import type { NodeMembership } from '../node/node-options.js';
import { createCredential, encodeCredential, signCredential } from '../credential.js';
import { createExportGrant, type ExportGrant } from '../credential-export.js';

/**
 * What certificate a testnet node (or a rogue) presents (spec xpp-pcan §5.3):
 * - `valid`: the testnet administrator's, for its own key, in its window, for the testnet's domain;
 * - `self-signed`: signed by the node's own key; `other-admin`: by another administrator's;
 * - `expired`: the testnet administrator's, but its window ended a day ago; `wrong-domain`: for another overlay;
 * - `expiring`: valid, but only for {@link EXPIRING_SECONDS} more (a renewal test moves its wall clock past it);
 * - `id-mismatch` (rogues only, see {@link TestnetMembership.authenticator}): a valid certificate of another key.
 */
export type TestnetCertificate =
  'valid' | 'self-signed' | 'other-admin' | 'expired' | 'expiring' | 'wrong-domain';

const DAY = 86_400;
/** What is left of an `expiring` certificate when it is issued, s. */
export const EXPIRING_SECONDS = 3_600;

/**
 * The membership of a testnet: one administrator key per net, which certifies every node the testnet starts, and
 * the means to make outsiders of every kind for attack tests.
 */
export class TestnetMembership {
  /** The domain every valid certificate of the testnet is for. */
  readonly domain: string;
  /** The testnet administrator's public key, as every node is configured with it. */
  readonly admins: AdminKeySet;
  readonly #admin: KeyObject;
  readonly #otherAdmin: KeyObject;

  constructor(domain = 'testnet.invalid') {
    this.domain = domain;
    const admin = generateAdminKeyPair();
    this.#admin = admin.privateKey;
    this.#otherAdmin = generateAdminKeyPair().privateKey;
    this.admins = new AdminKeySet([admin.publicKey]);
  }

  /** An identity from 32 seed octets drawn from `random` (a seeded testnet grows the same ids). */
  identity(random: () => number): PeerIdentity {
    return importPeerIdentity(Uint8Array.from({ length: 32 }, () => Math.floor(random() * 256)));
  }

  /** The certificate of `kind` for `identity`'s key. */
  certify(identity: PeerIdentity, kind: TestnetCertificate = 'valid'): PeerCertificate {
    const now = Math.floor(Date.now() / 1000);
    const expired = kind === 'expired';
    const init = {
      publicKey: identity.publicKey,
      domain: kind === 'wrong-domain' ? `other.${this.domain}` : this.domain,
      notBefore: expired ? now - 91 * DAY : now - DAY,
      notAfter: expired ? now - DAY : kind === 'expiring' ? now + EXPIRING_SECONDS : now + 90 * DAY,
    };
    const signer =
      kind === 'self-signed' ? identity.privateKey : kind === 'other-admin' ? this.#otherAdmin : this.#admin;
    return issuePeerCertificate(init, signer);
  }

  /**
   * A renewal of `certificate` (spec §5.3): the same key and domain, valid from now for 90 days, signed by the
   * testnet administrator — or, for attack tests, by `other-admin`, an administrator the testnet does not know.
   */
  renewal(certificate: PeerCertificate, signer: 'admin' | 'other-admin' = 'admin'): PeerCertificate {
    const now = Math.floor(Date.now() / 1000);
    const init = { publicKey: certificate.publicKey, domain: certificate.domain, notBefore: now };
    return issuePeerCertificate(
      { ...init, notAfter: now + 90 * DAY },
      signer === 'admin' ? this.#admin : this.#otherAdmin,
    );
  }

  /** The `membership` option of a node with `identity` and a certificate of `kind`. */
  membership(identity: PeerIdentity, kind: TestnetCertificate = 'valid'): NodeMembership {
    return {
      identity,
      certificate: this.certify(identity, kind),
      admins: this.admins,
      domain: this.domain,
    };
  }

  /**
   * An authenticator for a rogue's own calls (a SIP user agent and an XPP endpoint of its own): it signs as
   * `identity` with a certificate of `kind`, or, for `id-mismatch`, with a valid certificate of another key.
   */
  authenticator(identity: PeerIdentity, kind: TestnetCertificate | 'id-mismatch'): SessionAuthenticator {
    const options = { admins: this.admins, domain: this.domain, clock: { wallNow: () => Date.now() } };
    if (kind !== 'id-mismatch')
      return createPeerAuthenticator({ ...options, identity, certificate: this.certify(identity, kind) });
    const other = this.identity(Math.random);
    const certificate = encodePeerCertificate(this.certify(other));
    const verifier = createPeerAuthenticator({ ...options, identity, certificate: this.certify(identity) });
    return {
      sign: (transcript) => {
        const signature = signWithIdentity(identity, transcript);
        const blob = new Uint8Array(certificate.length + signature.length);
        blob.set(certificate);
        blob.set(signature, certificate.length);
        return blob;
      },
      verify: (auth, transcript) => verifier.verify(auth, transcript),
    };
  }

  /** The octets of an administrator-signed revocation of `peerId` (stored under `revocationKey(id)`). */
  revocation(peerId: Uint8Array): Uint8Array {
    return encodeRevocation(issueRevocation(peerId, Math.floor(Date.now() / 1000), this.#admin));
  }

  /** The octets of an administrator-signed CREDENTIAL for `aor` in the testnet's domain (stored under the AOR). */
  credential(aor: string, password: string, serial = 1): Uint8Array {
    const init = { aor, realm: this.domain, password, serial };
    return encodeCredential(signCredential(createCredential(init), this.#admin));
  }

  /** An export grant issued at `now` (ms), signed by the testnet administrator or, for attacks, another one. */
  exportGrant(now: number = Date.now(), signer: 'admin' | 'other-admin' = 'admin'): ExportGrant {
    return createExportGrant(signer === 'admin' ? this.#admin : this.#otherAdmin, now);
  }
}
