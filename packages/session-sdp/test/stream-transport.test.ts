import { connect, createServer, type Socket } from 'node:net';
import { networkInterfaces } from 'node:os';
import { connect as tlsConnect } from 'node:tls';
import { describe, expect, it } from 'vitest';
import {
  SipStreamFramer,
  StreamSipTransport,
  createResponse,
  decodeSip,
  parseVia,
  serializeSip,
  SipHeaders,
  type SipResponse,
  type StreamSipTransportOptions,
} from '@xpp/session-sdp';
import { answeringLayer } from './support/answering-layer.js';
import { closersAfterEach, until } from './support/closers.js';
import { selfSignedPair } from './support/tls.js';

const closers = closersAfterEach();

function register(i: number, extra = '', body = ''): string {
  return [
    `REGISTER sip:example.com SIP/2.0`,
    `Via: SIP/2.0/TCP 192.0.2.9:5060;branch=z9hG4bK-s${i};rport`,
    `From: <sip:u${i}@example.com>;tag=f${i}`,
    `To: <sip:u${i}@example.com>`,
    `Call-ID: s${i}`,
    `CSeq: 1 REGISTER`,
    'Max-Forwards: 70',
    ...(extra === '' ? [] : [extra]),
    `Content-Length: ${body.length}`,
    '',
    body,
  ].join('\r\n');
}

/** A SIP layer answering 200 to everything, over UDP + TCP (+ TLS when `tls` is given). */
async function server(options: Partial<StreamSipTransportOptions> = {}) {
  const tcp = await StreamSipTransport.listen({
    transport: 'TCP',
    address: '127.0.0.1',
    ...options,
    port: 0,
  });
  const tls =
    options.tls === undefined
      ? undefined
      : await StreamSipTransport.listen({ ...options, transport: 'TLS', port: 0 });
  const { layer, udp, sources } = await answeringLayer(tls === undefined ? [tcp] : [tcp, tls], closers);
  return { layer, tcp, tls, udp, sources };
}

/** A client that collects what it reads, framed. */
function client(socket: Socket) {
  const framer = new SipStreamFramer();
  const messages: SipResponse[] = [];
  let raw = '';
  const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
  socket.on('error', () => undefined);
  socket.on('data', (chunk: Buffer) => {
    raw += chunk.toString('latin1');
    for (const frame of framer.push(chunk)) {
      if (frame.kind !== 'message') continue;
      const decoded = decodeSip(frame.data);
      if (decoded.ok && decoded.message.kind === 'response') messages.push(decoded.message);
    }
  });
  closers.push(() => socket.destroy());
  return { socket, messages, closed, raw: () => raw };
}

const tcpClient = (port: number, host = '127.0.0.1') => client(connect({ host, port }));

describe('SIP over TCP and TLS (RFC 3261 §18)', () => {
  it('answers on the connection a request came on, pipelined or split at any point', async () => {
    const { tcp, sources } = await server();
    const c = tcpClient(tcp.local.port);
    const two = register(1) + register(2);
    c.socket.write(two.slice(0, 37));
    await new Promise((r) => setTimeout(r, 20));
    c.socket.write(two.slice(37) + register(3));
    await until(() => c.messages.length === 3);
    expect(c.messages.map((m) => [m.status, m.headers.get('call-id')])).toEqual([
      [200, 's1'],
      [200, 's2'],
      [200, 's3'],
    ]);
    // The Via sent-by (192.0.2.9:5060) is not where the client is: the answer followed the connection.
    expect(parseVia(c.messages[0]?.headers.get('via') ?? '')?.params.get('received')).toBe('127.0.0.1');
    expect(sources[0]).toMatchObject({ transport: 'TCP', port: c.socket.localPort });
  });

  it('answers a CRLF CRLF ping with a CRLF pong (RFC 5626 §3.5.1)', async () => {
    const { tcp } = await server();
    const c = tcpClient(tcp.local.port);
    c.socket.write('\r\n\r\n');
    await until(() => c.raw() === '\r\n');
    expect(tcp.stats.pings).toBe(1);
  });

  it('no Content-Length: 400, then closed, counted; another client is unaffected', async () => {
    const { tcp } = await server();
    const bad = tcpClient(tcp.local.port);
    const good = tcpClient(tcp.local.port);
    bad.socket.write(register(1).replace('Content-Length: 0\r\n', ''));
    await bad.closed;
    expect(bad.messages.map((m) => m.status)).toEqual([400]);
    expect(tcp.stats.closed.framing).toBe(1);
    good.socket.write(register(2));
    await until(() => good.messages.length === 1);
  });

  it('a Content-Length larger than the body: closed when the message time runs out', async () => {
    const { tcp } = await server({ messageTimeoutMs: 300 });
    const c = tcpClient(tcp.local.port);
    c.socket.write(register(1, '', 'short').replace('Content-Length: 5', 'Content-Length: 500'));
    await c.closed;
    expect(c.messages).toEqual([]);
    expect(tcp.stats.closed.timeout).toBe(1);
  });

  it('1 MB of headers: closed at the header limit (nothing parsed), counted; others unaffected', async () => {
    const { tcp } = await server();
    const c = tcpClient(tcp.local.port);
    const good = tcpClient(tcp.local.port);
    c.socket.write(
      `REGISTER sip:example.com SIP/2.0\r\n${'X-Junk: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n'.repeat(25_000)}`,
    );
    await c.closed;
    expect(tcp.stats.closed.tooLarge).toBe(1);
    good.socket.write(register(2));
    await until(() => good.messages.length === 1);
  });

  it('a body over the limit: 413, closed', async () => {
    const { tcp } = await server({ maxBodyOctets: 1000 });
    const c = tcpClient(tcp.local.port);
    c.socket.write(register(1).replace('Content-Length: 0', 'Content-Length: 5000'));
    await c.closed;
    expect(c.messages.map((m) => m.status)).toEqual([413]);
    expect(tcp.stats.closed.tooLarge).toBe(1);
  });

  it('slow-loris: a header block trickled in is cut at the message time, though bytes keep coming', async () => {
    const { tcp } = await server({ messageTimeoutMs: 400 });
    const c = tcpClient(tcp.local.port);
    const good = tcpClient(tcp.local.port);
    const text = register(1);
    let i = 0;
    const trickle = setInterval(() => {
      if (!c.socket.destroyed) c.socket.write(text[i++ % text.length] as string);
    }, 20);
    closers.push(() => clearInterval(trickle));
    await c.closed;
    expect(tcp.stats.closed.timeout).toBe(1);
    expect(i).toBeLessThan(text.length);
    good.socket.write(register(2));
    await until(() => good.messages.length === 1);
  });

  it('an idle connection is closed after the idle time, counted', async () => {
    const { tcp } = await server({ idleTimeoutMs: 200 });
    const c = tcpClient(tcp.local.port);
    await c.closed;
    expect(tcp.stats.closed.idle).toBe(1);
  });

  it('the total cap refuses more connections at once (counted), and frees with a close', async () => {
    const { tcp } = await server({ maxConnections: 2 });
    const a = tcpClient(tcp.local.port);
    tcpClient(tcp.local.port);
    await until(() => tcp.connections === 2);
    const refused = tcpClient(tcp.local.port);
    await refused.closed;
    expect(tcp.stats.refused.total).toBe(1);
    a.socket.destroy();
    await until(() => tcp.connections === 1);
    const next = tcpClient(tcp.local.port);
    next.socket.write(register(1));
    await until(() => next.messages.length === 1);
  });

  const external = Object.values(networkInterfaces())
    .flat()
    .find((i) => i !== undefined && i.family === 'IPv4' && !i.internal)?.address;
  it.skipIf(external === undefined)(
    'the per-address cap refuses one address its extra connections',
    async () => {
      const { tcp } = await server({ address: '0.0.0.0', maxConnectionsPerAddress: 2 });
      for (let i = 0; i < 2; i++) tcpClient(tcp.local.port, external);
      await until(() => tcp.connections === 2);
      const refused = tcpClient(tcp.local.port, external);
      await refused.closed;
      expect(tcp.stats.refused.address).toBe(1);
      // Loopback clients (each its own client, as in the admission policy) are not held to it.
      const local = tcpClient(tcp.local.port);
      local.socket.write(register(1));
      await until(() => local.messages.length === 1);
    },
  );

  it('a request to a TCP target goes on a new connection with a TCP Via, and the response comes back on it', async () => {
    const { layer, tcp } = await server();
    let seen = '';
    const accepted: Socket[] = [];
    const uas = createServer((socket) => {
      accepted.push(socket);
      const framer = new SipStreamFramer();
      socket.on('data', (chunk) => {
        for (const frame of framer.push(chunk)) {
          if (frame.kind !== 'message') continue;
          const decoded = decodeSip(frame.data);
          if (!decoded.ok || decoded.message.kind !== 'request') continue;
          seen = decoded.message.headers.get('via') ?? '';
          socket.write(serializeSip(createResponse(decoded.message, 200)));
        }
      });
    });
    await new Promise<void>((r) => uas.listen(0, '127.0.0.1', r));
    closers.push(() => {
      for (const socket of accepted) socket.destroy();
      return new Promise((r) => uas.close(r));
    });
    const port = (uas.address() as { port: number }).port;
    const request = {
      kind: 'request' as const,
      method: 'OPTIONS',
      uri: `sip:127.0.0.1:${port};transport=tcp`,
      headers: new SipHeaders()
        .append('Via', layer.newVia())
        .append('From', '<sip:a@example.com>;tag=1')
        .append('To', '<sip:b@example.com>')
        .append('Call-ID', 'out1')
        .append('CSeq', '1 OPTIONS')
        .append('Max-Forwards', '70'),
      body: new Uint8Array(0),
    };
    const status = await new Promise<number>((resolve, reject) => {
      layer.sendRequest(
        request,
        { address: '127.0.0.1', port, transport: 'TCP' },
        {
          response: (r) => resolve(r.status),
          timeout: () => reject(new Error('timeout')),
          transportError: reject,
        },
      );
    });
    expect(status).toBe(200);
    expect(parseVia(seen)).toMatchObject({ protocol: 'SIP/2.0/TCP', port: tcp.local.port });
    expect(tcp.stats.opened).toBe(1);
  });

  it('TLS: a client over node:tls registers; Via transport and the TLS port are honoured', async () => {
    const { cert, key } = selfSignedPair();
    const { tls, sources } = await server({ tls: { cert, key } });
    const port = (tls as StreamSipTransport).local.port;
    const c = client(tlsConnect({ host: '127.0.0.1', port, ca: cert, servername: 'localhost' }));
    c.socket.write(register(1).replace('SIP/2.0/TCP', 'SIP/2.0/TLS'));
    await until(() => c.messages.length === 1);
    expect(c.messages[0]?.status).toBe(200);
    expect(sources[0]).toMatchObject({ transport: 'TLS' });
    // Plain text on the TLS port is never read as SIP.
    const plain = tcpClient(port);
    plain.socket.write(register(2));
    await plain.closed;
    expect(plain.messages).toEqual([]);
  });
});

describe('closing a stream transport', () => {
  it('ends sockets still in their TLS handshake too, at once', async () => {
    const pair = selfSignedPair();
    const tls = await StreamSipTransport.listen({
      transport: 'TLS',
      tls: pair,
    });
    // A client that connects and never starts the handshake.
    const idle = tcpClient(tls.local.port);
    await until(() => tls.connections === 1);
    const started = Date.now();
    await tls.close();
    await idle.closed;
    expect(Date.now() - started).toBeLessThan(2_000);
  });
});
