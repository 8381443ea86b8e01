import { randomBytes } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import { computeHa1, computeDigestResponse, parseDigestAlgorithm } from '@xpp/dht';
import { createResponse, decodeSip, serializeSip, type SipRequest, type SipResponse } from '@xpp/session-sdp';

/** Retransmission of a request over UDP (RFC 3261 Timer A doubles from T1 = 500 ms); at most this many sends. */
const MAX_SENDS = 7;
const T1 = 500;

const token = (): string => randomBytes(6).toString('hex');

/** Where a SIP URI's host and port point (the demo runs on IPv4 loopback). */
function uriTarget(uri: string): { address: string; port: number } {
  const m = /@([^:;>]+)(?::(\d+))?/.exec(uri);
  return { address: m?.[1] ?? '127.0.0.1', port: Number(m?.[2] ?? 5060) };
}

/** The parameters of a `WWW-Authenticate: Digest …` challenge. */
function challengeParams(value: string): Map<string, string> {
  const params = new Map<string, string>();
  for (const m of value
    .replace(/^\s*Digest\s+/i, '')
    .matchAll(/([A-Za-z0-9_-]+)\s*=\s*("([^"]*)"|[^\s,]+)/g)) {
    params.set(m[1]!.toLowerCase(), m[3] ?? m[2]!);
  }
  return params;
}

/**
 * A small SIP user agent for the demo (and the daemon tests): registers an AOR with digest authentication through
 * a peer, answers calls with 200 and BYEs, and places a call (INVITE, ACK, BYE). Enough of RFC 3261 for loopback
 * UDP: requests are retransmitted, responses matched by Call-ID and CSeq.
 */
export class DemoSipClient {
  readonly #socket: Socket;
  readonly #pending = new Map<string, (response: SipResponse) => void>();
  #cseq = 1;
  #nc = 0;
  /** Calls answered, by Call-ID: set once the BYE came. */
  readonly answered = new Map<string, { ended: boolean }>();

  private constructor(
    socket: Socket,
    readonly aor: string,
    readonly password: string,
    readonly peer: { address: string; port: number },
  ) {
    this.#socket = socket;
    socket.on('message', (datagram, rinfo) =>
      this.#receive(datagram, { address: rinfo.address, port: rinfo.port }),
    );
  }

  static async open(options: {
    aor: string;
    password: string;
    peer: { address: string; port: number };
  }): Promise<DemoSipClient> {
    const socket = createSocket('udp4');
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(0, '127.0.0.1', () => resolve());
    });
    return new DemoSipClient(socket, options.aor, options.password, options.peer);
  }

  get port(): number {
    return this.#socket.address().port;
  }

  get #user(): string {
    return this.aor.replace(/^sips?:/, '').split('@')[0] ?? '';
  }

  get #contact(): string {
    return `<sip:${this.#user}@127.0.0.1:${this.port}>`;
  }

  /** REGISTER with digest (answering one 401); resolves with the final status. */
  async register(options: { expires?: number; contactParams?: string } = {}): Promise<number> {
    const domain = this.aor.split('@')[1] ?? '';
    const callId = token();
    const headers: [string, string][] = [
      ['Contact', `${this.#contact}${options.contactParams ?? ''};expires=${options.expires ?? 600}`],
      ['Expires', String(options.expires ?? 600)],
    ];
    const uri = `sip:${domain}`;
    const first = await this.#request('REGISTER', uri, { to: `<${this.aor}>`, callId, headers });
    if (first.status !== 401 && first.status !== 407) return first.status;
    const authorization = this.#authorization('REGISTER', uri, first);
    const second = await this.#request('REGISTER', uri, {
      to: `<${this.aor}>`,
      callId,
      headers: [...headers, [first.status === 401 ? 'Authorization' : 'Proxy-Authorization', authorization]],
    });
    return second.status;
  }

  /** Calls `target` through the peer: INVITE (with digest if challenged), ACK, then BYE. Statuses of both. */
  async call(target: string): Promise<{ invite: number; bye: number | undefined }> {
    const callId = token();
    const fromTag = token();
    const sdp = `v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=demo\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio ${this.port} RTP/AVP 0\r\n`;
    const invite = (auth?: [string, string]) =>
      this.#request('INVITE', target, {
        to: `<${target}>`,
        callId,
        fromTag,
        headers: [['Contact', this.#contact], ['Content-Type', 'application/sdp'], ...(auth ? [auth] : [])],
        body: sdp,
      });
    let response = await invite();
    if (response.status === 401 || response.status === 407) {
      const name = response.status === 401 ? 'Authorization' : 'Proxy-Authorization';
      response = await invite([name, this.#authorization('INVITE', target, response)]);
    }
    if (response.status !== 200) return { invite: response.status, bye: undefined };
    const to = response.headers.get('to') ?? `<${target}>`;
    const contact = /<([^>]+)>/.exec(response.headers.get('contact') ?? '')?.[1] ?? target;
    const cseq = Number((response.headers.get('cseq') ?? '1').split(' ')[0]);
    // In-dialog requests follow the route set when a proxy stayed on the path (Record-Route), else go straight
    // to the callee's Contact (RFC 3261 §12.2).
    const routes = response.headers.getAll('record-route').reverse();
    const next = routes.length > 0 ? this.peer : uriTarget(contact);
    const routeHeaders: [string, string][] = routes.map((r) => ['Route', r]);
    this.#send(this.#build('ACK', contact, { to, callId, fromTag, cseq, headers: routeHeaders }), next);
    const bye = await this.#request('BYE', contact, { to, callId, fromTag, headers: routeHeaders }, next);
    return { invite: 200, bye: bye.status };
  }

  close(): void {
    this.#socket.close();
  }

  #authorization(method: string, uri: string, challenge: SipResponse): string {
    const header = challenge.headers.get(
      challenge.status === 401 ? 'www-authenticate' : 'proxy-authenticate',
    );
    const p = challengeParams(header ?? '');
    const algorithm = parseDigestAlgorithm(p.get('algorithm'));
    const realm = p.get('realm') ?? '';
    const nonce = p.get('nonce') ?? '';
    const nc = (++this.#nc).toString(16).padStart(8, '0');
    const cnonce = token();
    const response = computeDigestResponse(
      algorithm,
      computeHa1(algorithm, this.#user, realm, this.password),
      {
        method,
        uri,
        nonce,
        nc,
        cnonce,
        qop: 'auth',
      },
    );
    const opaque = p.get('opaque');
    return (
      `Digest username="${this.#user}", realm="${realm}", nonce="${nonce}", uri="${uri}", ` +
      `response="${response}", algorithm=${algorithm}, qop=auth, nc=${nc}, cnonce="${cnonce}"` +
      (opaque === undefined ? '' : `, opaque="${opaque}"`)
    );
  }

  #build(
    method: string,
    uri: string,
    o: {
      to: string;
      callId: string;
      fromTag?: string;
      cseq?: number;
      headers: [string, string][];
      body?: string;
    },
  ): string {
    const branch = `z9hG4bK${token()}`;
    const body = o.body ?? '';
    return [
      `${method} ${uri} SIP/2.0`,
      `Via: SIP/2.0/UDP 127.0.0.1:${this.port};branch=${branch};rport`,
      'Max-Forwards: 70',
      `From: <${this.aor}>;tag=${o.fromTag ?? token()}`,
      `To: ${o.to}`,
      `Call-ID: ${o.callId}`,
      `CSeq: ${o.cseq ?? this.#cseq++} ${method}`,
      ...o.headers.map(([name, value]) => `${name}: ${value}`),
      `Content-Length: ${Buffer.byteLength(body)}`,
      '',
      body,
    ].join('\r\n');
  }

  /** Sends a request and resolves with its final response (provisional ones are skipped), retransmitting. */
  #request(
    method: string,
    uri: string,
    o: { to: string; callId: string; fromTag?: string; headers: [string, string][]; body?: string },
    to = this.peer,
  ): Promise<SipResponse> {
    const cseq = this.#cseq++;
    const text = this.#build(method, uri, { ...o, cseq });
    const key = `${o.callId} ${cseq} ${method}`;
    return new Promise<SipResponse>((resolve, reject) => {
      let sends = 0;
      let timer: NodeJS.Timeout | undefined;
      let provisional = false;
      const again = (): void => {
        if (sends >= MAX_SENDS) {
          this.#pending.delete(key);
          reject(new Error(`${method} ${uri}: no final response`));
          return;
        }
        if (!provisional || method !== 'INVITE') this.#send(text, to);
        timer = setTimeout(again, T1 * 2 ** Math.min(sends++, 3));
      };
      this.#pending.set(key, (response) => {
        if (response.status < 200) {
          provisional = true;
          return;
        }
        clearTimeout(timer);
        this.#pending.delete(key);
        resolve(response);
      });
      again();
    });
  }

  #send(text: string, to = this.peer): void {
    this.#socket.send(Buffer.from(text), to.port, to.address);
  }

  #receive(datagram: Uint8Array, source: { address: string; port: number }): void {
    const decoded = decodeSip(datagram);
    if (!decoded.ok) return;
    const message = decoded.message;
    if (message.kind === 'response') {
      const [number, method] = (message.headers.get('cseq') ?? '').split(/\s+/);
      this.#pending.get(`${message.headers.get('call-id') ?? ''} ${number ?? ''} ${method ?? ''}`)?.(message);
      return;
    }
    this.#answer(message, source);
  }

  /** The callee side: 200 to INVITE (and to its retransmissions), 200 to BYE; ACK needs no answer. */
  #answer(request: SipRequest, source: { address: string; port: number }): void {
    const callId = request.headers.get('call-id') ?? '';
    if (request.method === 'ACK') return;
    if (request.method === 'INVITE') this.answered.set(callId, this.answered.get(callId) ?? { ended: false });
    if (request.method === 'BYE') {
      const call = this.answered.get(callId);
      if (call !== undefined) call.ended = true;
    }
    const response = createResponse(request, 200, {
      toTag: token(),
      headers: request.method === 'INVITE' ? [['Contact', this.#contact]] : [],
    });
    this.#socket.send(serializeSip(response), source.port, source.address);
  }
}
