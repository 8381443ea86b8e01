import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  SessionError,
  SipUserAgent,
  UdpSipTransport,
  parseSipMessage,
  type InboundDatagram,
  type SipRequest,
} from '../src/index.js';

const CRLF2 = new TextEncoder().encode('\r\n\r\n');
const CRLF = new TextEncoder().encode('\r\n');

const closers: (() => unknown)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

/** A UA on loopback whose `onRequest` hook records what reached SIP (and leaves it to the UA). */
async function agent(): Promise<{ ua: SipUserAgent; requests: SipRequest[] }> {
  const requests: SipRequest[] = [];
  const ua = await SipUserAgent.listen({
    onRequest: (request) => {
      requests.push(request);
      return false;
    },
  });
  closers.push(() => ua.close());
  return { ua, requests };
}

/** A plain UDP socket on loopback that records what it receives and from where. */
async function client(): Promise<{ socket: Socket; received: { data: Buffer; from: RemoteInfo }[] }> {
  const socket = createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  const received: { data: Buffer; from: RemoteInfo }[] = [];
  socket.on('message', (data, from) => received.push({ data, from }));
  closers.push(() => new Promise<void>((resolve) => socket.close(() => resolve())));
  return { socket, received };
}

function options(ua: SipUserAgent, port: number, branch: string): string {
  return [
    `OPTIONS ${ua.contactUri} SIP/2.0`,
    `Via: SIP/2.0/UDP 127.0.0.1:${port};branch=z9hG4bK${branch}`,
    'Max-Forwards: 70',
    'From: <sip:x@127.0.0.1>;tag=1',
    `To: <${ua.contactUri}>`,
    `Call-ID: ${branch}`,
    'CSeq: 1 OPTIONS',
    'Content-Length: 0',
    '',
    '',
  ].join('\r\n');
}

describe('datagram filters on the SIP socket (loopback UDP)', () => {
  it('reports the bound socket as the local address', async () => {
    const transport = await UdpSipTransport.open({ address: '127.0.0.1' });
    const ua = new SipUserAgent({ transport });
    closers.push(
      () => transport.close(),
      () => ua.close(),
    );
    expect(ua.layer.local).toEqual(transport.local);
    expect(ua.layer.local.port).toBeGreaterThan(0);
    expect(ua.layer.newVia()).toContain(`SIP/2.0/UDP 127.0.0.1:${ua.layer.local.port};`);

    // A datagram sent to that address reaches this layer's filters, from the sender's own address.
    const seen: InboundDatagram[] = [];
    ua.layer.addDatagramFilter((datagram) => seen.push(datagram) > 0);
    const { socket } = await client();
    socket.send(CRLF2, ua.layer.local.port, ua.layer.local.address);
    await vi.waitFor(() => expect(seen).toHaveLength(1));
    expect(seen[0]?.source).toEqual({ address: '127.0.0.1', port: socket.address().port });
  });

  it('answers a diverted datagram back to its source, from the SIP socket, and SIP never sees it', async () => {
    const { ua, requests } = await agent();
    ua.layer.addDatagramFilter((datagram) => {
      if (datagram.data.length !== 4 || !datagram.data.every((b, i) => b === CRLF2[i])) return false;
      datagram.reply(CRLF);
      return true;
    });
    const { socket, received } = await client();
    socket.send(CRLF2, ua.local.port, ua.local.address);
    await vi.waitFor(() => expect(received).toHaveLength(1));
    expect(new Uint8Array(received[0]!.data)).toEqual(CRLF);
    expect({ address: received[0]!.from.address, port: received[0]!.from.port }).toEqual(ua.local);
    expect(ua.layer.stats).toMatchObject({ diverted: 1, received: 0, malformedDropped: 0 });
    expect(requests).toHaveLength(0);

    // What the filter leaves goes on to SIP as before: an OPTIONS is answered 200.
    socket.send(options(ua, socket.address().port, 'pass'), ua.local.port, ua.local.address);
    await vi.waitFor(() => expect(received).toHaveLength(2));
    expect(parseSipMessage(new Uint8Array(received[1]!.data))).toMatchObject({ status: 200 });
    expect(requests.map((r) => r.method)).toEqual(['OPTIONS']);
    expect(ua.layer.stats).toMatchObject({ diverted: 1, received: 1 });
  });

  it('keeps a consumed SIP request from the SIP layer entirely', async () => {
    const { ua, requests } = await agent();
    const diverted: string[] = [];
    ua.layer.addDatagramFilter((datagram) => {
      diverted.push(new TextDecoder().decode(datagram.data));
      return true;
    });
    const { socket, received } = await client();
    socket.send(options(ua, socket.address().port, 'taken'), ua.local.port, ua.local.address);
    await vi.waitFor(() => expect(diverted).toHaveLength(1));
    expect(diverted[0]).toMatch(/^OPTIONS /);
    expect(ua.layer.stats).toMatchObject({ diverted: 1, received: 0, sent: 0 });
    expect(ua.layer.size).toBe(0);
    expect(requests).toHaveLength(0);
    // No 200 (nor 100) was sent: give a reply time to arrive, were there one.
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(received).toHaveLength(0);
  });

  it('runs filters in order until one consumes; a removed or throwing filter passes the datagram on', async () => {
    const { ua, requests } = await agent();
    const calls: string[] = [];
    const removeFirst = ua.layer.addDatagramFilter(() => {
      calls.push('first');
      return true;
    });
    ua.layer.addDatagramFilter(() => {
      calls.push('second');
      throw new Error('a broken filter');
    });
    const { socket, received } = await client();
    const port = socket.address().port;
    socket.send(options(ua, port, 'one'), ua.local.port, ua.local.address);
    await vi.waitFor(() => expect(calls).toEqual(['first']));

    removeFirst();
    socket.send(options(ua, port, 'two'), ua.local.port, ua.local.address);
    await vi.waitFor(() => expect(received).toHaveLength(1));
    expect(calls).toEqual(['first', 'second']);
    expect(parseSipMessage(new Uint8Array(received[0]!.data))).toMatchObject({ status: 200 });
    expect(requests).toHaveLength(1);
    expect(ua.layer.stats).toMatchObject({ diverted: 1, received: 1, handlerErrors: 1 });
  });

  it('throws TRANSPORT from reply once the socket is closed', async () => {
    const ua = await SipUserAgent.listen();
    let held: InboundDatagram | undefined;
    ua.layer.addDatagramFilter((datagram) => {
      held = datagram;
      return true;
    });
    const { socket } = await client();
    socket.send(CRLF2, ua.local.port, ua.local.address);
    await vi.waitFor(() => expect(held).toBeDefined());
    await ua.close();
    let thrown: unknown;
    try {
      held?.reply(CRLF);
    } catch (error) {
      thrown = error;
    }
    expect(SessionError.is(thrown, 'TRANSPORT')).toBe(true);
  });
});
