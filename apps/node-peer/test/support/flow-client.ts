import { connect } from 'node:net';
import {
  SipStreamFramer,
  parseSipMessage,
  type SipMessage,
  type SipRequest,
  type SipResponse,
  type TransportAddress,
} from '@xpp/session-sdp';
import { waitFor } from '@xpp/reliability/testing';
import { expect } from 'vitest';
import WebSocket from 'ws';
import { challengeParams, digestAuthorization } from './raw-sip-client.js';

/** A SIP client on one connection (TCP or WebSocket): what it sends, every message it gets, how it closes. */
export interface FlowClient {
  readonly transport: 'TCP' | 'WS' | 'WSS';
  readonly local: TransportAddress;
  readonly messages: SipMessage[];
  send(text: string): void;
  close(): Promise<void>;
}

export async function tcpFlowClient(to: TransportAddress): Promise<FlowClient> {
  const socket = connect({ host: to.address, port: to.port });
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

/** A WebSocket client of `url` (`ws://` or `wss://`) offering `protocol` (default `sip`), trusting `ca` for WSS. */
export async function wsFlowClient(
  url: string,
  options: { protocol?: string; ca?: Buffer } = {},
): Promise<FlowClient> {
  const secure = url.startsWith('wss:');
  const ws = new WebSocket(
    url,
    options.protocol ?? 'sip',
    options.ca === undefined ? {} : { ca: options.ca },
  );
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

/** The final response `client` got to the request `callId` / `cseq`. */
export async function responseTo(client: FlowClient, callId: string, cseq: number): Promise<SipResponse> {
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

/** The first `method` request of `callId` that `client` received. */
export async function requestTo(client: FlowClient, method: string, callId: string): Promise<SipRequest> {
  let found: SipRequest | undefined;
  await waitFor(
    () =>
      (found = client.messages.find(
        (m): m is SipRequest =>
          m.kind === 'request' && m.method === method && m.headers.get('call-id') === callId,
      )) !== undefined,
    { what: `${method} ${callId} on ${client.transport}:${client.local.port}`, timeoutMs: 10_000 },
  );
  return found as SipRequest;
}

/** The host a client puts in its Via and Contact: its address for TCP, a `.invalid` name on WebSocket (RFC 7118). */
export function flowHost(client: FlowClient, n: number): string {
  return client.transport === 'TCP' ? `127.0.0.1:${client.local.port}` : `${n}.invalid`;
}

/** REGISTER `user` over `client` with digest (401, then the answer); `regId` makes it an Outbound registration. */
export async function registerFlow(
  client: FlowClient,
  user: string,
  password: string,
  options: { regId?: number; expires?: number } = {},
): Promise<SipResponse> {
  const n = ++sequence;
  const callId = `ws-reg-${process.pid}-${n}`;
  const host = flowHost(client, n);
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
