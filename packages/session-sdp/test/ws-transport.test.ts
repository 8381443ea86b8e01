import { describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import {
  WsSipTransport,
  SipHeaders,
  decodeSip,
  type SipAddress,
  type SipResponse,
  type WsSipTransportOptions,
} from '@xpp/session-sdp';
import { answeringLayer } from './support/answering-layer.js';
import { closersAfterEach, until } from './support/closers.js';
import { selfSignedPair } from './support/tls.js';

// Issue 20 item 2: SIP over WebSocket (RFC 7118), over real sockets.
const closers = closersAfterEach();

function register(i: number, transport = 'WS', body = ''): string {
  return [
    `REGISTER sip:example.com SIP/2.0`,
    `Via: SIP/2.0/${transport} df7jal23ls0d.invalid;branch=z9hG4bK-w${i};rport`,
    `From: <sip:u${i}@example.com>;tag=f${i}`,
    `To: <sip:u${i}@example.com>`,
    `Call-ID: w${i}`,
    `CSeq: 1 REGISTER`,
    'Max-Forwards: 70',
    // RFC 7118 §5: Content-Length is not needed on a WebSocket; one message per WebSocket message.
    '',
    body,
  ].join('\r\n');
}

/** A SIP layer answering 200 to everything over UDP + WS (+ WSS when `tls` is given). */
async function server(options: Partial<WsSipTransportOptions> = {}) {
  const ws = await WsSipTransport.listen({ ...options, transport: 'WS', port: 0 });
  const wss =
    options.tls === undefined
      ? undefined
      : await WsSipTransport.listen({ ...options, transport: 'WSS', port: 0 });
  const { layer, sources } = await answeringLayer(wss === undefined ? [ws] : [ws, wss], closers);
  return { layer, ws, wss, sources };
}

async function open(url: string, protocol: string | undefined, options: WebSocket.ClientOptions = {}) {
  const socket = new WebSocket(url, protocol === undefined ? [] : [protocol], options);
  const responses: SipResponse[] = [];
  const raw: string[] = [];
  const closed = new Promise<number>((resolve) => socket.on('close', (code) => resolve(code)));
  socket.on('message', (data: Buffer) => {
    raw.push(data.toString());
    const decoded = decodeSip(data);
    if (decoded.ok && decoded.message.kind === 'response') responses.push(decoded.message);
  });
  closers.push(() => socket.terminate());
  await new Promise<void>((resolve, reject) => socket.once('open', resolve).once('error', reject));
  socket.on('error', () => undefined);
  return { socket, responses, raw, closed };
}

describe('SIP over WebSocket (RFC 7118)', () => {
  it('one message per WebSocket message, answered on its connection; the source names WS', async () => {
    const { ws, sources } = await server();
    const client = await open(`ws://127.0.0.1:${ws.local.port}`, 'sip');
    expect(client.socket.protocol).toBe('sip');
    client.socket.send(register(1));
    client.socket.send(register(2));
    await until(() => client.responses.length === 2);
    expect(client.responses.map((r) => r.headers.get('call-id')).sort()).toEqual(['w1', 'w2']);
    expect(sources[0]?.transport).toBe('WS');
    expect(ws.stats).toMatchObject({ accepted: 1, messagesIn: 2, messagesOut: 2 });
    // A CRLF keepalive on a WebSocket message gets a CRLF.
    client.socket.send('\r\n\r\n');
    await until(() => client.raw.includes('\r\n'));
    expect(ws.stats.pings).toBe(1);
  });

  it('an upgrade without the sip subprotocol is refused (400) and counted', async () => {
    const { ws } = await server();
    await expect(open(`ws://127.0.0.1:${ws.local.port}`, 'chat')).rejects.toThrow(/400/);
    await expect(open(`ws://127.0.0.1:${ws.local.port}`, undefined)).rejects.toThrow(/400/);
    expect(ws.stats.closed.protocol).toBe(2);
    expect(ws.stats.accepted).toBe(0);
  });

  it('a message over the size bounds closes the connection (1009), counted; another client goes on', async () => {
    const { ws } = await server({ maxBodyOctets: 1024, maxHeaderOctets: 2048 });
    const big = await open(`ws://127.0.0.1:${ws.local.port}`, 'sip');
    big.socket.send(register(3, 'WS', 'x'.repeat(1500)));
    expect(await big.closed).toBe(1009);
    const huge = await open(`ws://127.0.0.1:${ws.local.port}`, 'sip');
    huge.socket.send('x'.repeat(10_000));
    expect(await huge.closed).toBe(1009);
    await until(() => ws.stats.closed.tooLarge === 2);
    const other = await open(`ws://127.0.0.1:${ws.local.port}`, 'sip');
    other.socket.send(register(4));
    await until(() => other.responses.length === 1);
    expect(ws.stats.messagesIn).toBe(1);
  });

  it('the per-address and total caps refuse sockets before any upgrade, counted', async () => {
    const { ws } = await server({ maxConnections: 1 });
    await open(`ws://127.0.0.1:${ws.local.port}`, 'sip');
    await expect(open(`ws://127.0.0.1:${ws.local.port}`, 'sip')).rejects.toThrow();
    expect(ws.stats.refused.total).toBe(1);
  });

  it('an idle connection is closed after the idle time; a closed connection is reported (its flow died)', async () => {
    const { ws } = await server({ idleTimeoutMs: 200 });
    const closedFlows: SipAddress[] = [];
    ws.onConnectionClosed((remote) => closedFlows.push(remote));
    const client = await open(`ws://127.0.0.1:${ws.local.port}`, 'sip');
    await client.closed;
    await until(() => closedFlows.length === 1);
    expect(closedFlows[0]).toMatchObject({ address: '127.0.0.1', transport: 'WS' });
    expect(ws.stats.closed.idle).toBe(1);
  });

  it('a request to a WS address goes on its connection with a WS Via; none without a connection', async () => {
    const { layer, ws, sources } = await server();
    const client = await open(`ws://127.0.0.1:${ws.local.port}`, 'sip');
    client.socket.send(register(5));
    await until(() => sources.length === 1);
    const requests: string[] = [];
    client.socket.on('message', (data: Buffer) => {
      if (data.toString().startsWith('OPTIONS')) requests.push(data.toString());
    });
    const target = sources[0] as SipAddress;
    layer.sendRequest(
      {
        kind: 'request',
        method: 'OPTIONS',
        uri: 'sip:u5@df7jal23ls0d.invalid;transport=ws',
        headers: new SipHeaders([
          ['Via', layer.newVia()],
          ['From', '<sip:proxy@example.com>;tag=p'],
          ['To', '<sip:u5@example.com>'],
          ['Call-ID', 'o5'],
          ['CSeq', '1 OPTIONS'],
          ['Max-Forwards', '70'],
          ['Content-Length', '0'],
        ]),
        body: new Uint8Array(),
      },
      target,
      { response: () => undefined, timeout: () => undefined, transportError: () => undefined },
    );
    await until(() => requests.length === 1);
    expect(requests[0]).toMatch(new RegExp(`Via: SIP/2\\.0/WS 127\\.0\\.0\\.1:${ws.local.port};`));
    expect(() => ws.send(new Uint8Array(4), { address: '127.0.0.1', port: 1, transport: 'WS' })).toThrow(
      /no WS connection/,
    );
  });

  it('WSS with a self-signed pair: a client that trusts it registers', async () => {
    const { cert, key } = selfSignedPair();
    const { wss, sources } = await server({ tls: { cert, key } });
    const client = await open(`wss://localhost:${wss?.local.port}`, 'sip', { ca: cert });
    client.socket.send(register(6, 'WSS'));
    await until(() => client.responses.length === 1);
    expect(client.responses[0]?.status).toBe(200);
    expect(sources[0]?.transport).toBe('WSS');
  });
});
