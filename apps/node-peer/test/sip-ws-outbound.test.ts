import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  SipStreamFramer,
  parseSipMessage,
  type SipMessage,
  type SipRequest,
  type SipResponse,
  type TransportAddress,
} from '@xpp/session-sdp';
import { waitFor } from '@xpp/reliability/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { NodeProcess, runXppNode } from './support/node-process.js';
import { challengeParams, digestAuthorization } from './support/raw-sip-client.js';
import { finalResponse, rawRequest, statusLine, UdpListener } from './support/raw-sip.js';
import { selfSignedCertificate } from './support/tls.js';

// Issue 20 items 2–3: SIP over WebSocket (RFC 7118) and SIP Outbound (RFC 5626) on `xpp-node start`.
const dir = mkdtempSync(join(tmpdir(), 'xpp-ws-'));
const data = join(dir, 'data');
let node: NodeProcess;
let sip: TransportAddress;
let ports: { sipWs: number; sipWss: number; http: number };

beforeAll(async () => {
  const tls = selfSignedCertificate(dir);
  // A small body bound, so that an oversize WebSocket message is cheap to send.
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ sipStreamLimits: { maxBodyOctets: 4096 } }));
  node = new NodeProcess(
    ['start', '--data-dir', data, '--config', join(dir, 'config.json')]
      .concat(['--sip-port', '0', '--xpp-port', '0', '--http-port', '0', '--tls-port', '0'])
      .concat(['--ws-port', '0', '--wss-port', '0'])
      .concat(['--tls-cert', tls.cert, '--tls-key', tls.key]),
  );
  const started = (await node.ports()) as Awaited<ReturnType<NodeProcess['ports']>> & {
    sipWs: number;
    sipWss: number;
  };
  sip = { address: '127.0.0.1', port: started.sip };
  ports = { sipWs: started.sipWs, sipWss: started.sipWss, http: started.http };
  await node.healthy(ports.http);
  for (const [user, password] of [
    ['alice', 'wonderland'],
    ['bob', 'builder'],
  ]) {
    const added = await runXppNode(
      ['user', 'add', `sip:${user}@localhost`, '--password', password as string, '--data-dir', data].concat([
        '--http-port',
        String(ports.http),
      ]),
    );
    expect(added.code, added.stderr).toBe(0);
  }
}, 60_000);
afterAll(() => node?.kill());

interface WsStats {
  accepted: number;
  closed: Record<string, number>;
  messagesIn: number;
}
const status = async (): Promise<{ ws?: WsStats; wss?: WsStats }> =>
  ((await (await fetch(`http://127.0.0.1:${ports.http}/status`)).json()) as { sipStreams: { ws?: WsStats } })
    .sipStreams;

/** A SIP client on one connection (TCP or WebSocket): what it sends, every message it gets, how it closes. */
interface FlowClient {
  readonly transport: 'TCP' | 'WS' | 'WSS';
  readonly local: TransportAddress;
  readonly messages: SipMessage[];
  send(text: string): void;
  close(): Promise<void>;
}

async function tcpClient(): Promise<FlowClient> {
  const socket = connect({ host: sip.address, port: sip.port });
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  const framer = new SipStreamFramer();
  const messages: SipMessage[] = [];
  socket.on('data', (chunk: Buffer) => {
    for (const f of framer.push(chunk)) if (f.kind === 'message') messages.push(parseSipMessage(f.data));
  });
  socket.on('error', () => undefined);
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  return {
    transport: 'TCP',
    local: { address: '127.0.0.1', port: socket.localPort ?? 0 },
    messages,
    send: (text) => socket.write(text),
    close: () => {
      socket.destroy();
      return closed;
    },
  };
}

async function wsClient(secure: boolean, protocol = 'sip'): Promise<FlowClient> {
  const url = secure ? `wss://localhost:${ports.sipWss}` : `ws://127.0.0.1:${ports.sipWs}`;
  const ws = new WebSocket(url, protocol, secure ? { ca: readFileSync(join(dir, 'cert.pem')) } : {});
  await new Promise<void>((resolve, reject) => ws.once('open', resolve).once('error', reject));
  expect(ws.protocol).toBe('sip');
  ws.on('error', () => undefined);
  const messages: SipMessage[] = [];
  ws.on('message', (raw: Buffer) => {
    if (raw.toString() !== '\r\n') messages.push(parseSipMessage(raw));
  });
  const socket = (ws as unknown as { _socket: { localPort: number } })._socket;
  const closed = new Promise<void>((resolve) => ws.once('close', () => resolve()));
  return {
    transport: secure ? 'WSS' : 'WS',
    local: { address: '127.0.0.1', port: socket.localPort },
    messages,
    send: (text) => ws.send(text),
    close: () => {
      ws.terminate();
      return closed;
    },
  };
}

let sequence = 0;

async function responseTo(client: FlowClient, callId: string, cseq: number): Promise<SipResponse> {
  let found: SipResponse | undefined;
  await waitFor(
    () =>
      (found = client.messages.find(
        (m): m is SipResponse =>
          m.kind === 'response' &&
          m.status >= 200 &&
          m.headers.get('call-id') === callId &&
          m.headers.get('cseq')?.startsWith(`${cseq} `) === true,
      )) !== undefined,
    { what: `response to ${callId}/${cseq}`, timeoutMs: 10_000 },
  );
  return found as SipResponse;
}

/** REGISTER `user` over `client` with digest (401, then the answer); `regId` makes it an Outbound registration. */
async function register(
  client: FlowClient,
  user: string,
  password: string,
  options: { regId?: number; expires?: number } = {},
): Promise<SipResponse> {
  const n = ++sequence;
  const callId = `ws-reg-${process.pid}-${n}`;
  const host = client.transport === 'TCP' ? `127.0.0.1:${client.local.port}` : `${n}.invalid`;
  const contactUri = `sip:${user}@${host};transport=${client.transport.toLowerCase()}${options.regId === undefined ? '' : ';ob'}`;
  const outbound =
    options.regId === undefined
      ? ''
      : `;+sip.instance="<urn:uuid:00000000-0000-4000-8000-0000000000aa>";reg-id=${options.regId}`;
  const text = (cseq: number, authorization?: string) =>
    [
      'REGISTER sip:localhost SIP/2.0',
      `Via: SIP/2.0/${client.transport} ${host};branch=z9hG4bK-ws-${n}-${cseq}`,
      'Max-Forwards: 70',
      `From: <sip:${user}@localhost>;tag=r${n}`,
      `To: <sip:${user}@localhost>`,
      `Call-ID: ${callId}`,
      `CSeq: ${cseq} REGISTER`,
      `Contact: <${contactUri}>${outbound}`,
      `Expires: ${options.expires ?? 600}`,
      'Supported: path, outbound',
      ...(authorization === undefined ? [] : [`Authorization: ${authorization}`]),
      'Content-Length: 0',
      '',
      '',
    ].join('\r\n');
  client.send(text(1));
  const challenge = await responseTo(client, callId, 1);
  expect(challenge.status).toBe(401);
  const params = challengeParams(challenge);
  const authorization = digestAuthorization({
    username: user,
    realm: params?.get('realm') ?? '',
    password,
    nonce: params?.get('nonce') ?? '',
    uri: 'sip:localhost',
    nc: '00000001',
  });
  client.send(text(2, authorization));
  return responseTo(client, callId, 2);
}

/** Answers 486 to the first INVITE `client` receives, on its connection; resolves with the INVITE. */
async function answerBusy(client: FlowClient, callId: string): Promise<SipRequest> {
  let invite: SipRequest | undefined;
  await waitFor(
    () =>
      (invite = client.messages.find(
        (m): m is SipRequest =>
          m.kind === 'request' && m.method === 'INVITE' && m.headers.get('call-id') === callId,
      )) !== undefined,
    { what: `INVITE ${callId} on ${client.transport}:${client.local.port}`, timeoutMs: 10_000 },
  );
  const request = invite as SipRequest;
  const vias = request.headers.getAll('via').map((v) => `Via: ${v}`);
  client.send(
    ['SIP/2.0 486 Busy Here', ...vias]
      .concat([`From: ${request.headers.get('from')}`, `To: ${request.headers.get('to')};tag=busy`])
      .concat([`Call-ID: ${callId}`, `CSeq: ${request.headers.get('cseq')}`, 'Content-Length: 0', '', ''])
      .join('\r\n'),
  );
  return request;
}

async function invite(caller: UdpListener, user: string): Promise<{ status: string; callId: string }> {
  const request = rawRequest(caller.address, 'INVITE', `sip:${user}@localhost`);
  return { status: statusLine(await finalResponse(caller, request, sip)), callId: request.callId };
}

describe('SIP over WebSocket (RFC 7118)', () => {
  it('a ws:// client registers with digest; the 200 of an Outbound REGISTER carries Flow-Timer', async () => {
    const client = await wsClient(false);
    try {
      const ok = await register(client, 'alice', 'wonderland', { regId: 1 });
      expect(ok.status).toBe(200);
      expect(ok.headers.get('require')).toBe('outbound');
      expect(ok.headers.get('flow-timer')).toBe('120');
      // The response went back on the connection of the request, its Via naming WS.
      expect(ok.headers.get('via')).toMatch(/^SIP\/2\.0\/WS /);
      expect((await status()).ws?.accepted).toBeGreaterThan(0);
    } finally {
      await client.close();
    }
  });

  it('a wss:// client (self-signed pair made by the test) registers with digest', async () => {
    const client = await wsClient(true);
    try {
      expect((await register(client, 'alice', 'wonderland')).status).toBe(200);
      expect((await status()).wss?.accepted).toBeGreaterThan(0);
    } finally {
      await client.close();
    }
  });

  it('an upgrade without the sip subprotocol is refused and counted', async () => {
    const before = (await status()).ws?.closed['protocol'] ?? 0;
    await expect(wsClient(false, 'chat')).rejects.toThrow(/400/);
    expect((await status()).ws?.closed['protocol']).toBe(before + 1);
  });

  it('an oversize message closes the connection (1009), counted; other clients go on', async () => {
    const before = (await status()).ws?.closed['tooLarge'] ?? 0;
    const client = await wsClient(false);
    client.send(`MESSAGE sip:alice@localhost SIP/2.0\r\nContent-Length: 20000\r\n\r\n${'x'.repeat(20_000)}`);
    await waitFor(async () => ((await status()).ws?.closed['tooLarge'] ?? 0) === before + 1, {
      what: 'tooLarge counted',
      timeoutMs: 5_000,
    });
    const other = await wsClient(false);
    try {
      expect((await register(other, 'alice', 'wonderland')).status).toBe(200);
    } finally {
      await other.close();
      await client.close();
    }
  });
});

describe('SIP Outbound (RFC 5626): flow failure and failover', () => {
  it('a TCP flow closed mid-registration: the next INVITE gets 430 Flow Failed; a re-REGISTER routes again', async () => {
    const caller = await UdpListener.open();
    const first = await tcpClient();
    try {
      expect((await register(first, 'bob', 'builder', { regId: 1 })).headers.get('flow-timer')).toBe('120');
      await first.close();
      // The close reaches the node asynchronously (an INVITE before it would be sent to the dead connection).
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect((await invite(caller, 'bob')).status).toBe('SIP/2.0 430 Flow Failed');
      const second = await tcpClient();
      try {
        expect((await register(second, 'bob', 'builder', { regId: 1 })).status).toBe(200);
        const request = rawRequest(caller.address, 'INVITE', 'sip:bob@localhost');
        const answered = finalResponse(caller, request, sip);
        await answerBusy(second, request.callId);
        expect(statusLine(await answered)).toBe('SIP/2.0 486 Busy Here');
      } finally {
        await second.close();
      }
    } finally {
      caller.close();
    }
  });

  it('a client with two flows (reg-id 1 and 2) fails over to the other when one dies', async () => {
    const caller = await UdpListener.open();
    const one = await tcpClient();
    const two = await wsClient(false);
    try {
      // reg-id 1 registers last: the freshest binding, the one a request takes while its flow lives.
      expect((await register(two, 'alice', 'wonderland', { regId: 2 })).status).toBe(200);
      expect((await register(one, 'alice', 'wonderland', { regId: 1 })).status).toBe(200);
      await one.close();
      await new Promise((resolve) => setTimeout(resolve, 300));
      const request = rawRequest(caller.address, 'INVITE', 'sip:alice@localhost');
      const answered = finalResponse(caller, request, sip);
      const received = await answerBusy(two, request.callId);
      expect(received.headers.get('via')).toMatch(/^SIP\/2\.0\/WS /);
      expect(statusLine(await answered)).toBe('SIP/2.0 486 Busy Here');
    } finally {
      await two.close();
      caller.close();
    }
  });
});
