import { createSocket, type Socket } from 'node:dgram';
import { parseSipMessage, type SipMessage, type TransportAddress } from '@xpp/session-sdp';
import { waitFor } from '@xpp/reliability/testing';

/** A UDP socket on loopback that keeps every datagram it receives, as an outsider's or a foreign host's would. */
export class UdpListener {
  readonly datagrams: Buffer[] = [];
  readonly #socket: Socket;

  private constructor(socket: Socket) {
    this.#socket = socket;
    socket.on('message', (message) => this.datagrams.push(message));
  }

  /** Bound on 127.0.0.1 at `port` (default any). */
  static async open(port = 0): Promise<UdpListener> {
    const socket = createSocket({ type: 'udp4', recvBufferSize: 1024 * 1024 });
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(port, '127.0.0.1', resolve);
    });
    return new UdpListener(socket);
  }

  get address(): TransportAddress {
    const { address, port } = this.#socket.address();
    return { address, port };
  }

  /** The datagrams parsed as SIP (anything else left out). */
  messages(): SipMessage[] {
    return this.datagrams.flatMap((d) => {
      try {
        return [parseSipMessage(d)];
      } catch {
        return [];
      }
    });
  }

  send(text: string, to: TransportAddress): void {
    this.#socket.send(Buffer.from(text), to.port, to.address);
  }

  close(): void {
    this.#socket.close();
  }
}

let sequence = 0;

/**
 * A request as raw text from `from` (its Via, Contact), with a fresh branch, Call-ID and From tag unless `headers`
 * set them; `headers` add or replace (`undefined` removes). Returns the text and its Call-ID.
 */
export function rawRequest(
  from: TransportAddress,
  method: string,
  uri: string,
  headers: Record<string, string | undefined> = {},
  body = '',
): { text: string; callId: string } {
  const n = ++sequence;
  const all: Record<string, string | undefined> = {
    Via: `SIP/2.0/UDP ${from.address}:${from.port};branch=z9hG4bK-raw-${process.pid}-${n};rport`,
    'Max-Forwards': '70',
    From: `<sip:mallory@${from.address}:${from.port}>;tag=raw${n}`,
    To: `<${uri}>`,
    'Call-ID': `raw-${process.pid}-${n}`,
    CSeq: `1 ${method}`,
    Contact: `<sip:mallory@${from.address}:${from.port}>`,
    ...headers,
  };
  const lines = Object.entries(all)
    .filter((entry): entry is [string, string] => entry[1] !== undefined)
    .map(([name, value]) => `${name}: ${value}`);
  const text = `${method} ${uri} SIP/2.0\r\n${lines.join('\r\n')}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
  return { text, callId: all['Call-ID'] ?? '' };
}

/**
 * Sends `request` from `client` to `to` and resolves with the final response's raw text; rejects as soon as
 * `relayedTo` (a foreign host's listener) receives a request of the same Call-ID instead.
 */
export async function finalResponse(
  client: UdpListener,
  request: { text: string; callId: string },
  to: TransportAddress,
  relayedTo?: UdpListener,
): Promise<string> {
  client.send(request.text, to);
  let found: string | undefined;
  await waitFor(
    () => {
      const relayed = relayedTo?.messages().some((m) => m.headers.get('call-id') === request.callId);
      if (relayed === true) throw new Error(`${request.callId} was relayed to ${relayedTo?.address.port}`);
      found = client.datagrams
        .find((d) => {
          try {
            const m = parseSipMessage(d);
            return m.kind === 'response' && m.status >= 200 && m.headers.get('call-id') === request.callId;
          } catch {
            return false;
          }
        })
        ?.toString();
      return found !== undefined;
    },
    { timeoutMs: 10_000 },
  );
  return found as string;
}

/** `SIP/2.0 403 Forbidden` of a raw response. */
export function statusLine(raw: string): string {
  return raw.slice(0, raw.indexOf('\r\n'));
}
