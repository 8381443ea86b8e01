import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SipRequest, TransportAddress } from '@xpp/session-sdp';
import { waitFor } from '@xpp/reliability/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  registerFlow,
  requestTo,
  tcpFlowClient,
  wsFlowClient,
  type FlowClient,
} from './support/flow-client.js';
import { selfSignedPair } from './support/tls-pair.js';
import { NodeProcess, runXppNode } from './support/node-process.js';
import { finalResponse, rawRequest, statusLine, UdpListener } from './support/raw-sip.js';

// Issue 20 items 2–3: SIP over WebSocket (RFC 7118) and SIP Outbound (RFC 5626) on `xpp-node start`.
const dir = mkdtempSync(join(tmpdir(), 'xpp-ws-'));
const data = join(dir, 'data');
let node: NodeProcess;
let sip: TransportAddress;
let ports: { sipWs: number; sipWss: number; http: number };

beforeAll(async () => {
  selfSignedPair(dir);
  // A small body bound, so that an oversize WebSocket message is cheap to send.
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ sipStreamLimits: { maxBodyOctets: 4096 } }));
  node = new NodeProcess(
    ['start', '--data-dir', data, '--config', join(dir, 'config.json')]
      .concat(['--sip-port', '0', '--xpp-port', '0', '--http-port', '0', '--tls-port', '0'])
      .concat(['--ws-port', '0', '--wss-port', '0'])
      .concat(['--tls-cert', join(dir, 'cert.pem'), '--tls-key', join(dir, 'key.pem')]),
  );
  const started = (await node.ports()) as Awaited<ReturnType<NodeProcess['ports']>> & {
    sipWs: number;
    sipWss: number;
  };
  sip = { address: '127.0.0.1', port: started.sip };
  ports = { sipWs: started.sipWs, sipWss: started.sipWss, http: started.http };
  await waitFor(async () => (await fetch(`http://127.0.0.1:${ports.http}/healthz`)).status === 200, {
    what: 'healthz 200',
    timeoutMs: 20_000,
    intervalMs: 50,
  });
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

const tcpClient = (): Promise<FlowClient> => tcpFlowClient(sip);
const wsClient = (secure: boolean, protocol = 'sip'): Promise<FlowClient> =>
  secure
    ? wsFlowClient(`wss://localhost:${ports.sipWss}`, { protocol, ca: readFileSync(join(dir, 'cert.pem')) })
    : wsFlowClient(`ws://127.0.0.1:${ports.sipWs}`, { protocol });
const register = registerFlow;

/** Answers 486 to the first INVITE `client` receives, on its connection; resolves with the INVITE. */
async function answerBusy(client: FlowClient, callId: string): Promise<SipRequest> {
  const request = await requestTo(client, 'INVITE', callId);
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
