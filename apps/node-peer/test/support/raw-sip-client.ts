import { createSocket, type Socket } from 'node:dgram';
import { computeDigestResponse, computeHa1 } from '@xpp/dht';
import { parseSipMessage, type SipRequest, type SipResponse, type TransportAddress } from '@xpp/session-sdp';
import { parseDigestParams } from '../../src/registrar/authorization.js';

/**
 * An outsider's SIP client: a bare UDP socket on a loopback address of its choice (127.0.0.0/8 gives each test
 * source its own address) that writes requests as text and reads the answers, with no SIP stack in between.
 */
export class RawSipClient {
  /** Every request this socket received. */
  readonly received: SipRequest[] = [];
  /** Answer INVITE and BYE 200 (a callee that picks up), else answer nothing. */
  answer = false;
  /** The user part of the Contact of those answers. */
  contactUser = 'callee';
  readonly #socket: Socket;
  readonly #waiting = new Map<string, (response: SipResponse) => void>();
  #sequence = 0;

  private constructor(socket: Socket) {
    this.#socket = socket;
    socket.on('message', (message) => {
      let parsed;
      try {
        parsed = parseSipMessage(message);
      } catch {
        return;
      }
      if (parsed.kind === 'request') {
        this.received.push(parsed);
        if (this.answer && (parsed.method === 'INVITE' || parsed.method === 'BYE')) this.#ok(parsed);
        return;
      }
      if (parsed.status < 200) return;
      const callId = parsed.headers.get('call-id') ?? '';
      this.#waiting.get(callId)?.(parsed);
      this.#waiting.delete(callId);
    });
  }

  static async open(address = '127.0.0.1'): Promise<RawSipClient> {
    const socket = createSocket('udp4');
    await new Promise<void>((resolve) => socket.bind(0, address, resolve));
    return new RawSipClient(socket);
  }

  get local(): TransportAddress {
    const { address, port } = this.#socket.address();
    return { address, port };
  }

  /**
   * Sends a request (unique branch and Call-ID, `headers` added or replacing the defaults) and resolves with its
   * final response; rejects after `ms` without one.
   */
  request(
    target: TransportAddress,
    method: string,
    uri: string,
    headers: Record<string, string | undefined> = {},
    ms = 5_000,
  ): Promise<SipResponse> {
    const n = ++this.#sequence;
    const { address, port } = this.local;
    const fresh = `raw-${port}-${n}-${Math.random().toString(36).slice(2)}`;
    // Answers are matched by Call-ID: the caller's own when it gives one (a request within a dialog).
    const callId = headers['Call-ID'] ?? fresh;
    const all: Record<string, string | undefined> = {
      Via: `SIP/2.0/UDP ${address}:${port};branch=z9hG4bK-raw-${port}-${n}-${fresh};rport`,
      From: `<sip:outsider@${address}>;tag=r${n}`,
      To: `<${uri}>`,
      'Call-ID': callId,
      CSeq: `${n} ${method}`,
      'Max-Forwards': '70',
      ...headers,
    };
    const lines = Object.entries(all)
      .filter((entry): entry is [string, string] => entry[1] !== undefined)
      .map(([name, value]) => `${name}: ${value}`);
    const text = `${method} ${uri} SIP/2.0\r\n${lines.join('\r\n')}\r\nContent-Length: 0\r\n\r\n`;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiting.delete(callId);
        reject(new Error(`no answer to ${method} ${uri} in ${ms} ms`));
      }, ms);
      this.#waiting.set(callId, (response) => {
        clearTimeout(timer);
        resolve(response);
      });
      this.#socket.send(text, target.port, target.address);
    });
  }

  /**
   * REGISTER `aor` at `registrar`: the first attempt unauthenticated, then (with a password) one answer to its
   * challenge, computed over `digestUri` (default the Request-URI). Returns both responses.
   */
  async register(
    registrar: TransportAddress,
    aor: string,
    password: string | undefined,
    options: { digestUri?: string; nonce?: string; nc?: string; contact?: string } = {},
  ): Promise<{ challenge: SipResponse; final: SipResponse; nonce: string }> {
    const uri = `sip:${aor.slice(aor.indexOf('@') + 1)}`;
    const user = aor.slice(4, aor.indexOf('@'));
    const contact = options.contact ?? `<sip:${user}@${this.local.address}:${this.local.port}>`;
    const base = { From: `<${aor}>;tag=reg`, To: `<${aor}>`, Contact: contact, Expires: '600' };
    const challenge = await this.request(registrar, 'REGISTER', uri, base);
    const params = challengeParams(challenge);
    const nonce = options.nonce ?? params?.get('nonce') ?? '';
    if (password === undefined || params === undefined) return { challenge, final: challenge, nonce };
    const authorization = digestAuthorization({
      username: user,
      realm: params.get('realm') ?? '',
      password,
      nonce,
      uri: options.digestUri ?? uri,
      nc: options.nc ?? '00000001',
    });
    const final = await this.request(registrar, 'REGISTER', uri, { ...base, Authorization: authorization });
    return { challenge, final, nonce };
  }

  /**
   * A call-like request (INVITE, MESSAGE…) from `aor`: sent, and when the peer answers 407, sent again with the
   * `Proxy-Authorization` that answers it with `password`. Returns both responses (the same one if no 407 came).
   */
  async call(
    target: TransportAddress,
    method: string,
    uri: string,
    aor: string,
    password: string,
    headers: Record<string, string | undefined> = {},
  ): Promise<{ challenge: SipResponse; final: SipResponse }> {
    const base = { From: `<${aor}>;tag=c${this.#sequence}`, ...headers };
    const challenge = await this.request(target, method, uri, base);
    const params = challengeParams(challenge, 'proxy-authenticate');
    if (challenge.status !== 407 || params === undefined) return { challenge, final: challenge };
    const authorization = digestAuthorization({
      username: aor.slice(4, aor.indexOf('@')),
      realm: params.get('realm') ?? '',
      password,
      nonce: params.get('nonce') ?? '',
      uri,
      nc: '00000001',
      method,
    });
    const final = await this.request(target, method, uri, { ...base, 'Proxy-Authorization': authorization });
    return { challenge, final };
  }

  /** Sends a request without waiting for any answer: `headers` in order, as given. */
  send(target: TransportAddress, method: string, uri: string, headers: [string, string][]): void {
    const lines = headers.map(([name, value]) => `${name}: ${value}`);
    const text = `${method} ${uri} SIP/2.0\r\n${lines.join('\r\n')}\r\nContent-Length: 0\r\n\r\n`;
    this.#socket.send(text, target.port, target.address);
  }

  /** A 200 to `request` sent back where its top Via says (received/rport), with a To tag and our Contact. */
  #ok(request: SipRequest): void {
    const copy = (name: string) => request.headers.getAll(name).map((v) => `${name}: ${v}`);
    const to = request.headers.get('to') ?? '';
    const lines = [
      ...copy('Via'),
      ...copy('Record-Route'),
      ...copy('From'),
      `To: ${/;tag=/.test(to) ? to : `${to};tag=callee`}`,
      ...copy('Call-ID'),
      ...copy('CSeq'),
      `Contact: <sip:${this.contactUser}@${this.local.address}:${this.local.port}>`,
    ];
    const via = /received=([^;]+)/.exec(request.headers.get('via') ?? '');
    const rport = /rport=(\d+)/.exec(request.headers.get('via') ?? '');
    const sentBy = /SIP\/2\.0\/UDP ([^:;]+):(\d+)/.exec(request.headers.get('via') ?? '');
    const address = via?.[1] ?? sentBy?.[1] ?? '127.0.0.1';
    const port = Number(rport?.[1] ?? sentBy?.[2] ?? 5060);
    const text = `SIP/2.0 200 OK\r\n${lines.join('\r\n')}\r\nContent-Length: 0\r\n\r\n`;
    this.#socket.send(text, port, address);
  }

  close(): void {
    this.#socket.close();
  }
}

/** The parameters of the MD5 challenge of a 401 (or a 407's, by `header`; undefined when there is none). */
export function challengeParams(
  response: SipResponse,
  header = 'www-authenticate',
): Map<string, string> | undefined {
  for (const value of response.headers.getAll(header)) {
    const params = parseDigestParams(value);
    if (params?.get('algorithm')?.toUpperCase() === 'MD5') return params;
  }
  return undefined;
}

/** An MD5, qop=auth `Authorization` header value answering `nonce` with `password`. */
export function digestAuthorization(init: {
  username: string;
  realm: string;
  password: string;
  nonce: string;
  uri: string;
  nc: string;
  method?: string;
}): string {
  const cnonce = 'c0ffee01';
  const ha1 = computeHa1('MD5', init.username, init.realm, init.password);
  const response = computeDigestResponse('MD5', ha1, {
    nonce: init.nonce,
    uri: init.uri,
    method: init.method ?? 'REGISTER',
    qop: 'auth',
    nc: init.nc,
    cnonce,
  });
  return (
    `Digest username="${init.username}", realm="${init.realm}", nonce="${init.nonce}", uri="${init.uri}", ` +
    `response="${response}", algorithm=MD5, qop=auth, nc=${init.nc}, cnonce="${cnonce}"`
  );
}
