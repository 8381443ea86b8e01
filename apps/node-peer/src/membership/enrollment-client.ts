import { randomBytes } from 'node:crypto';
import {
  decodePeerCertificate,
  enrollmentProof,
  parseEnrollmentToken,
  signOrigin,
  verifyPeerCertificate,
  type AdminKeySet,
  type PeerCertificate,
  type PeerIdentity,
} from '@xpp/dht';
import { SipHeaders, SipUserAgent, type SipResponse, type TransportAddress } from '@xpp/session-sdp';
import { NodeError } from '../errors.js';
import { parseVia } from '../sip/candidate.js';
import {
  encodeEnrollRequest,
  enrolledPassword,
  ENROLL_CONTENT_TYPE,
  ENROLL_USER,
  parseInvitation,
  renewalSigned,
  type EnrollRequest,
} from './enrollment-codec.js';

export interface EnrollClientOptions {
  readonly identity: PeerIdentity;
  readonly domain: string;
  readonly admins: AdminKeySet;
  /** Address the short-lived SIP socket binds (the node's host). */
  readonly host: string;
  readonly signal?: AbortSignal;
}

/** Sends one enrollment MESSAGE from a socket of its own (the node is not up yet) and returns the certificate. */
async function exchange(
  to: TransportAddress,
  request: EnrollRequest,
  options: EnrollClientOptions,
): Promise<PeerCertificate> {
  const ua = await SipUserAgent.listen({ address: options.host, port: 0 });
  try {
    const response = await new Promise<SipResponse>((resolve, reject) => {
      const headers = new SipHeaders()
        .append('Via', ua.layer.newVia())
        .append('Max-Forwards', '70')
        .append(
          'From',
          `<sip:peer-${options.identity.id.slice(0, 16)}@${options.domain}>;tag=${randomBytes(6).toString('hex')}`,
        )
        .append('To', `<sip:${ENROLL_USER}@${options.domain}>`)
        .append('Call-ID', `${randomBytes(9).toString('base64url')}@xpp`)
        .append('CSeq', '1 MESSAGE')
        .append('Content-Type', ENROLL_CONTENT_TYPE);
      const onAbort = () => reject(new NodeError('NOT_RUNNING', 'enrollment aborted'));
      options.signal?.addEventListener('abort', onAbort, { once: true });
      ua.layer.sendRequest(
        {
          kind: 'request',
          method: 'MESSAGE',
          uri: `sip:${ENROLL_USER}@${options.domain}`,
          headers,
          body: encodeEnrollRequest(request),
        },
        to,
        {
          response: (r) => {
            if (r.status >= 200) resolve(r);
          },
          timeout: () =>
            reject(
              new NodeError(
                'NOT_RUNNING',
                `no answer to the enrollment request from ${to.address}:${to.port}`,
              ),
            ),
          transportError: reject,
        },
      );
    });
    if (response.status !== 200)
      throw new NodeError(
        'REFUSED',
        `the administrator node at ${to.address}:${to.port} refused the ${request.kind === 'token' ? 'token' : 'renewal'} ` +
          `(${response.status} ${response.reason}): it is wrong, used or expired — ask for a new one (xpp-node peer invite)`,
      );
    let certificate: PeerCertificate;
    try {
      certificate = decodePeerCertificate(response.body);
    } catch (cause) {
      throw new NodeError('REFUSED', 'the administrator node answered something that is not a certificate', {
        cause,
      });
    }
    // Checked here too: a certificate for another key, domain or administrator would only fail later, less clearly.
    if (Buffer.compare(Buffer.from(certificate.publicKey), Buffer.from(options.identity.publicKey)) !== 0)
      throw new NodeError('REFUSED', 'the certificate received is for another key');
    verifyPeerCertificate(certificate, {
      admins: options.admins,
      domain: options.domain,
      now: Math.floor(Date.now() / 1000),
    });
    return certificate;
  } finally {
    await ua.close();
  }
}

/**
 * `join --token`: proves possession of the invitation's token (HMAC over the token id and this host's public key;
 * the secret never leaves this host) to the administrator node it names (else `via`), and returns the certificate,
 * the digest password of the host's candidate AOR (derived from the secret on both sides), and where the
 * administrator node is (for renewal).
 */
export async function enrollWithToken(
  invitation: string,
  via: string | undefined,
  options: EnrollClientOptions,
): Promise<{ certificate: PeerCertificate; password: string; admin: string }> {
  const { token, address } = parseInvitation(invitation);
  const admin = address ?? via;
  if (admin === undefined)
    throw new NodeError(
      'INVALID_CONFIG',
      'the token names no administrator node: give --via its SIP address',
    );
  let parsed: ReturnType<typeof parseEnrollmentToken>;
  try {
    parsed = parseEnrollmentToken(token);
  } catch (cause) {
    throw new NodeError(
      'INVALID_CONFIG',
      'the --token is not an enrollment token (xpp-node peer invite prints one)',
      {
        cause,
      },
    );
  }
  const { id, secret } = parsed;
  const certificate = await exchange(
    parseVia(admin),
    {
      kind: 'token',
      publicKey: options.identity.publicKey,
      tokenId: new Uint8Array(Buffer.from(id, 'hex')),
      proof: enrollmentProof(secret, id, options.identity.publicKey),
    },
    options,
  );
  return { certificate, password: enrolledPassword(secret, options.identity.publicKey), admin };
}

/** Renews `certificate` (still valid) at the administrator node `admin`, signing with the identity key. */
export function renewCertificate(
  admin: string,
  certificate: PeerCertificate,
  options: EnrollClientOptions,
): Promise<PeerCertificate> {
  const signedAt = Math.floor(Date.now() / 1000);
  const origin = signOrigin(
    options.identity,
    certificate,
    renewalSigned(options.identity.publicKey, signedAt),
  );
  return exchange(
    parseVia(admin),
    { kind: 'renew', publicKey: options.identity.publicKey, signedAt, origin },
    options,
  );
}
