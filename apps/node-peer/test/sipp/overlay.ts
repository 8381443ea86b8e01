import {
  AdminKeySet,
  createCredential,
  generatePeerIdentity,
  issuePeerCertificate,
  createCredentialVerifier,
  generateAdminKeyPair,
  OverlayNode,
  signCredential,
  type InvitePolicy,
} from '@xpp/dht';
import {
  SipHeaders,
  SipUserAgent,
  type SipRequest,
  type SipResponse,
  type SipTransactionLayer,
  type TransportAddress,
} from '@xpp/session-sdp';
import { RegisterClient } from '../../src/sip/register-client.js';
import { onFlowConnectionClosed, openSipTransports } from '../../src/sip/transports.js';
import { SipFront, type SipFrontOptions } from '../../src/sip/front.js';

export const DOMAIN = 'localhost';

/** A peer of a test overlay: an OverlayNode on loopback UDP with a SipFront on its SIP socket. */
export interface TestPeer {
  readonly node: OverlayNode;
  readonly front: SipFront;
  /** Where clients send SIP. */
  readonly sip: TransportAddress;
  /** Its plain WebSocket listener (RFC 7118), when the overlay has {@link TestOverlay.webSockets}. */
  readonly ws?: TransportAddress;
}

/** A small overlay of `count` peers (the first bootstraps, it invites the others) with one administrator key. */
export class TestOverlay {
  readonly admin = generateAdminKeyPair();
  readonly peers: TestPeer[] = [];
  readonly #clients: SipUserAgent[] = [];

  static async start(count: number, options: Partial<SipFrontOptions> = {}): Promise<TestOverlay> {
    return new TestOverlay().#grow(count, options);
  }

  /** Where peers and clients bind: `127.0.0.1`, or `::1` for an IPv6 overlay. */
  host = '127.0.0.1';

  /** An overlay whose peers and clients all bind `host` (`::1`: RFC 5118 references throughout). */
  static async startOn(
    host: string,
    count: number,
    options: Partial<SipFrontOptions> = {},
  ): Promise<TestOverlay> {
    const overlay = new TestOverlay();
    overlay.host = host;
    return overlay.#grow(count, options);
  }

  /** Certify every peer added from now on (identity key and certificate under this overlay's admin key). */
  certified = false;

  static async certified(
    count: number,
    options: Partial<SipFrontOptions> = {},
    init: { webSockets?: boolean } = {},
  ): Promise<TestOverlay> {
    const overlay = new TestOverlay();
    overlay.certified = true;
    overlay.webSockets = init.webSockets ?? false;
    return overlay.#grow(count, options);
  }

  async #grow(count: number, options: Partial<SipFrontOptions>): Promise<TestOverlay> {
    for (let i = 0; i < count; i++) {
      const peer = await this.addPeer(options);
      if (i === 0) peer.node.bootstrap();
      else await this.peers[0]!.node.invite(peer.node.ua.contactUri);
    }
    return this;
  }

  /** A certified identity of this overlay's domain (what a certified peer signs with). */
  certify(): NonNullable<SipFrontOptions['membership']> {
    const identity = generatePeerIdentity();
    const now = Math.floor(Date.now() / 1000);
    const certificate = issuePeerCertificate(
      { publicKey: identity.publicKey, domain: DOMAIN, notBefore: now - 60, notAfter: now + 86_400 },
      this.admin.privateKey,
    );
    return { identity, certificate, admins: new AdminKeySet([this.admin.publicKey]) };
  }

  /** Give every peer added from now on a plain WebSocket listener beside UDP (as `xpp-node --ws-port` does). */
  webSockets = false;

  async addPeer(options: Partial<SipFrontOptions> = {}, invitePolicy?: InvitePolicy): Promise<TestPeer> {
    const membership = this.certified ? this.certify() : undefined;
    const transports = this.webSockets
      ? await openSipTransports({
          host: this.host,
          sipPort: 0,
          xppPort: 0,
          tlsPort: 0,
          wssPort: 0,
          wsPort: 0,
        })
      : undefined;
    const front = new SipFront({
      domain: DOMAIN,
      adminPublicKey: this.admin.publicKey,
      ...(invitePolicy === undefined ? {} : { invitePolicy }),
      ...(membership === undefined ? {} : { membership }),
      ...options,
    });
    const node = await OverlayNode.create({
      dimensions: 2,
      ...(transports === undefined ? {} : { transports: { sip: transports.set, xpp: transports.xpp } }),
      host: this.host,
      ...(membership === undefined ? {} : { membership: { ...membership, domain: DOMAIN } }),
      store: { verifyCredential: createCredentialVerifier(this.admin.publicKey) },
      ...front.hooks,
    });
    front.attach(node);
    if (transports !== undefined)
      onFlowConnectionClosed(transports, (remote) => front.connectionClosed(remote));
    const ws = transports?.ws?.local;
    const peer = { node, front, sip: node.ua.local, ...(ws === undefined ? {} : { ws }) };
    this.peers.push(peer);
    return peer;
  }

  /** Stores a signed credential for `user@localhost` through peer 0. */
  async addUser(user: string, password: string): Promise<string> {
    const aor = `sip:${user}@${DOMAIN}`;
    const credential = signCredential(
      createCredential({ aor, realm: DOMAIN, password }),
      this.admin.privateKey,
    );
    await this.peers[0]!.front.location!.putCredential(credential);
    for (const peer of this.peers) peer.front.location?.forgetCredentials();
    return aor;
  }

  /** A SIP client (its own UDP socket) registering `aor` at `peer`. */
  async client(
    peer: TestPeer,
    aor: string,
    password: string | undefined,
    contactParams = '',
    uaOptions: Parameters<typeof SipUserAgent.listen>[0] = {},
  ): Promise<{ ua: SipUserAgent; registrar: RegisterClient; contact: string }> {
    const ua = await SipUserAgent.listen({
      user: aor.slice(4, aor.indexOf('@')),
      address: this.host,
      ...uaOptions,
    });
    this.#clients.push(ua);
    const contact = ua.contactUri;
    const registrar = new RegisterClient({
      layer: ua.layer,
      registrar: peer.sip,
      aor,
      contact: `<${contact}>${contactParams}`,
      ...(password === undefined ? {} : { password }),
    });
    return { ua, registrar, contact };
  }

  async close(): Promise<void> {
    await Promise.all(this.#clients.splice(0).map((c) => c.close()));
    for (const peer of this.peers.splice(0)) {
      await peer.front.close();
      await peer.node.close();
    }
  }
}

/** Sends `request` through `layer` in a client transaction; resolves with every response, the final one last. */
export function transact(
  layer: SipTransactionLayer,
  request: SipRequest,
  target: TransportAddress,
): Promise<SipResponse[]> {
  return new Promise((resolve, reject) => {
    const responses: SipResponse[] = [];
    layer.sendRequest(request, target, {
      response: (response) => {
        responses.push(response);
        if (response.status >= 200) resolve(responses);
      },
      timeout: () => reject(new Error(`${request.method} timed out`)),
      transportError: reject,
    });
  });
}

/** A request from a client user agent: fresh Via, tags and Call-ID. */
export function newRequest(
  ua: SipUserAgent,
  method: string,
  uri: string,
  extra: [string, string][] = [],
  body = '',
): SipRequest {
  const headers = new SipHeaders()
    .append('Via', ua.layer.newVia())
    .append('Max-Forwards', '70')
    .append('From', `<${ua.contactUri}>;tag=${Math.random().toString(36).slice(2)}`)
    .append('To', `<${uri}>`)
    .append('Call-ID', `${Math.random().toString(36).slice(2)}@test`)
    .append('CSeq', `1 ${method}`)
    .append('Contact', `<${ua.contactUri}>`);
  for (const [name, value] of extra) headers.set(name, value);
  return { kind: 'request', method, uri, headers, body: new TextEncoder().encode(body) };
}
