import { randomBytes } from 'node:crypto';
import { computeDigestResponse, computeHa1, parseDigestAlgorithm, type DigestAlgorithm } from '@xpp/dht';
import {
  SessionError,
  SipHeaders,
  parseSipUri,
  type SipRequest,
  type SipResponse,
  type SipTransactionLayer,
  type TransportAddress,
} from '@xpp/session-sdp';
import { parseDigestParams } from '../registrar/authorization.js';

export interface RegisterClientOptions {
  /** The transaction layer to send through (a node's `ua.layer`, or any user agent's). */
  readonly layer: SipTransactionLayer;
  /** The registrar (a peer's SIP address). */
  readonly registrar: TransportAddress;
  /** The address-of-record to bind, `sip:user@domain`. */
  readonly aor: string;
  /** The Contact value to bind (URI in angle brackets plus parameters such as `+sip.xpp-peer`). */
  readonly contact: string;
  /** Digest password; without it a challenge ends the attempt (`SIP_REJECTED` 401). */
  readonly password?: string;
  /** Digest username; default the AOR's user part. */
  readonly username?: string;
}

/**
 * A small RFC 3261 §10.2 registration client over a transaction layer: one Call-ID for all its REGISTERs, CSeq
 * counting up, and one RFC 7616 digest answer (SHA-256 when offered, else MD5) per challenge.
 */
export class RegisterClient {
  readonly #o: RegisterClientOptions;
  readonly #callId = `${randomBytes(9).toString('base64url')}@xpp`;
  readonly #fromTag = randomBytes(6).toString('hex');
  #cseq = 1;

  constructor(options: RegisterClientOptions) {
    this.#o = options;
  }

  /**
   * Sends a REGISTER (`expires` seconds; 0 removes the binding; `contact: '*'` with 0 removes all) and answers one
   * digest challenge. Resolves with the final response, whatever its status; rejects with `SIP_TIMEOUT`,
   * `TRANSPORT`, `ABORTED`.
   */
  async register(
    expires: number,
    options: { signal?: AbortSignal; contact?: string } = {},
  ): Promise<SipResponse> {
    const first = await this.#send(this.#request(expires, options.contact), options.signal);
    if (first.status !== 401 || this.#o.password === undefined) return first;
    const authorization = this.#authorization(first);
    if (authorization === undefined) return first;
    return this.#send(this.#request(expires, options.contact, authorization), options.signal);
  }

  #request(expires: number, contact = this.#o.contact, authorization?: string): SipRequest {
    const domain = parseSipUri(this.#o.aor)?.host ?? '';
    const headers = new SipHeaders()
      .append('Via', this.#o.layer.newVia())
      .append('Max-Forwards', '70')
      .append('From', `<${this.#o.aor}>;tag=${this.#fromTag}`)
      .append('To', `<${this.#o.aor}>`)
      .append('Call-ID', this.#callId)
      .append('CSeq', `${this.#cseq++} REGISTER`)
      .append('Contact', contact)
      .append('Expires', String(expires));
    if (authorization !== undefined) headers.append('Authorization', authorization);
    return { kind: 'request', method: 'REGISTER', uri: `sip:${domain}`, headers, body: new Uint8Array(0) };
  }

  /** The Authorization answering the strongest challenge we can (SHA-256 before MD5). */
  #authorization(challenge: SipResponse): string | undefined {
    let best: { algorithm: DigestAlgorithm; params: Map<string, string> } | undefined;
    for (const value of challenge.headers.getAll('www-authenticate')) {
      const params = parseDigestParams(value);
      if (params === undefined) continue;
      let algorithm: DigestAlgorithm;
      try {
        algorithm = parseDigestAlgorithm(params.get('algorithm'));
      } catch {
        continue;
      }
      if (best === undefined || (algorithm === 'SHA-256' && best.algorithm === 'MD5'))
        best = { algorithm, params };
    }
    const realm = best?.params.get('realm');
    const nonce = best?.params.get('nonce');
    if (best === undefined || realm === undefined || nonce === undefined) return undefined;
    const username = this.#o.username ?? parseSipUri(this.#o.aor)?.user ?? '';
    const uri = `sip:${parseSipUri(this.#o.aor)?.host ?? ''}`;
    const cnonce = randomBytes(8).toString('hex');
    const ha1 = computeHa1(best.algorithm, username, realm, this.#o.password ?? '');
    const response = computeDigestResponse(best.algorithm, ha1, {
      nonce,
      uri,
      method: 'REGISTER',
      qop: 'auth',
      nc: '00000001',
      cnonce,
    });
    return (
      `Digest username="${username}", realm="${realm}", nonce="${nonce}", uri="${uri}", ` +
      `response="${response}", algorithm=${best.algorithm}, qop=auth, nc=00000001, cnonce="${cnonce}"`
    );
  }

  #send(request: SipRequest, signal: AbortSignal | undefined): Promise<SipResponse> {
    return new Promise((resolve, reject) => {
      if (signal?.aborted === true) {
        reject(new SessionError('ABORTED', 'registration aborted'));
        return;
      }
      const onAbort = () => reject(new SessionError('ABORTED', 'registration aborted'));
      signal?.addEventListener('abort', onAbort, { once: true });
      const settle = (done: () => void) => {
        signal?.removeEventListener('abort', onAbort);
        done();
      };
      try {
        this.#o.layer.sendRequest(request, this.#o.registrar, {
          response: (response) => {
            if (response.status >= 200) settle(() => resolve(response));
          },
          timeout: () =>
            settle(() => reject(new SessionError('SIP_TIMEOUT', 'REGISTER got no final response'))),
          transportError: (error) => settle(() => reject(error)),
        });
      } catch (error) {
        settle(() => reject(error));
      }
    });
  }
}
