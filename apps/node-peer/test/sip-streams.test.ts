import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SipStreamFramer, decodeSip, type SipResponse, type TransportAddress } from '@xpp/session-sdp';
import { waitFor } from '@xpp/reliability/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freeUdpPort, runSipp, sippVersion } from './sipp/run.js';
import { NodeProcess, runXppNode } from './support/node-process.js';
import { selfSignedCertificate } from './support/tls.js';
import { finalResponse, rawRequest, statusLine, UdpListener } from './support/raw-sip.js';

// Issue 20 item 1: SIP over TCP and TLS on `xpp-node start` (UDP and TCP on the SIP port, TLS with --tls-cert/key).
const dir = mkdtempSync(join(tmpdir(), 'xpp-streams-'));
const data = join(dir, 'data');
let node: NodeProcess;
let sip: TransportAddress;
let tlsPort: number;
let http: number;
const stunnelBin = ['stunnel4', 'stunnel'].find(
  (b) => spawnSync('sh', ['-c', `command -v ${b}`]).status === 0,
);

beforeAll(async () => {
  expect(sippVersion()).toContain('SIPp');
  const tls = selfSignedCertificate(dir);
  // Only the slow-loris time is shortened (default 10 s), so that the test does not wait for it.
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ sipStreamLimits: { messageTimeoutMs: 1_000 } }));
  node = new NodeProcess(
    ['start', '--data-dir', data, '--config', join(dir, 'config.json')]
      .concat(['--sip-port', '0', '--xpp-port', '0', '--http-port', '0', '--tls-port', '0'])
      .concat(['--tls-cert', tls.cert, '--tls-key', tls.key]),
  );
  // The `node started` line lists `sipTls` too when TLS is on.
  const ports = (await node.ports()) as Awaited<ReturnType<NodeProcess['ports']>> & { sipTls: number };
  sip = { address: '127.0.0.1', port: ports.sip };
  tlsPort = ports.sipTls;
  http = ports.http;
  await node.healthy(http);
  const added = await runXppNode(
    ['user', 'add', 'sip:alice@localhost', '--password', 'wonderland', '--data-dir', data].concat([
      '--http-port',
      String(http),
    ]),
  );
  expect(added.code, added.stderr).toBe(0);
  const bob = await runXppNode(
    ['user', 'add', 'sip:bob@localhost', '--password', 'builder', '--data-dir', data].concat([
      '--http-port',
      String(http),
    ]),
  );
  expect(bob.code, bob.stderr).toBe(0);
}, 60_000);
afterAll(() => node?.kill());

interface Streams {
  tcp: { accepted: number; closed: Record<string, number>; refused: Record<string, number> };
  tls?: { accepted: number };
}
const streams = async (): Promise<Streams> =>
  ((await (await fetch(`http://127.0.0.1:${http}/status`)).json()) as { sipStreams: Streams }).sipStreams;

function register(i: number): string {
  return [
    'REGISTER sip:localhost SIP/2.0',
    `Via: SIP/2.0/TCP 127.0.0.1:9;branch=z9hG4bK-t${i}-${Date.now()};rport`,
    `From: <sip:alice@localhost>;tag=t${i}`,
    'To: <sip:alice@localhost>',
    `Call-ID: stream-${i}-${Date.now()}`,
    'CSeq: 1 REGISTER',
    'Max-Forwards: 70',
    'Content-Length: 0',
    '',
    '',
  ].join('\r\n');
}

/** A raw TCP client of the node's SIP port, collecting responses as framed. */
function tcpClient(): { socket: Socket; responses: SipResponse[]; closed: Promise<void> } {
  const socket = connect({ host: sip.address, port: sip.port });
  const framer = new SipStreamFramer();
  const responses: SipResponse[] = [];
  socket.on('error', () => undefined);
  socket.on('data', (chunk: Buffer) => {
    for (const f of framer.push(chunk)) {
      const decoded = f.kind === 'message' ? decodeSip(f.data) : undefined;
      if (decoded?.ok === true && decoded.message.kind === 'response') responses.push(decoded.message);
    }
  });
  const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
  return { socket, responses, closed };
}

const ok = (run: { code: number | null; output: string; logs: string }) =>
  expect(run.code, `${run.output}\n${run.logs}`).toBe(0);

describe('SIP over TCP and TLS against xpp-node start', () => {
  it('sipp over TCP (-t t1): REGISTER with digest, 401 then 200, on one connection', async () => {
    const before = (await streams()).tcp.accepted;
    const run = await runSipp('register.xml', {
      service: 'alice',
      port: await freeUdpPort(),
      remote: sip,
      auth: { username: 'alice', password: 'wonderland' },
      extraArgs: ['-t', 't1'],
    });
    ok(run);
    expect(run.logs).toContain('SIP/2.0/TCP');
    expect((await streams()).tcp.accepted).toBe(before + 1);
  });

  it('TLS through stunnel4 in front of sipp -t t1 (Debian sipp has no TLS): REGISTER with digest', async (ctx) => {
    if (stunnelBin === undefined) {
      // .ci/run installs stunnel4: in CI its absence is a failure, never a skip.
      expect(process.env['CI'], 'stunnel4 missing').not.toBe('true');
      ctx.skip();
      return;
    }
    const accept = await freeUdpPort();
    const conf = join(dir, 'stunnel.conf');
    writeFileSync(
      conf,
      ['foreground = yes', 'pid =', '[sip]', 'client = yes', `accept = 127.0.0.1:${accept}`]
        .concat([`connect = 127.0.0.1:${tlsPort}`, `CAfile = ${join(dir, 'cert.pem')}`])
        .concat(['verifyChain = yes', 'checkHost = localhost', ''])
        .join('\n'),
    );
    const stunnel: ChildProcess = spawn(stunnelBin, [conf], { stdio: 'ignore' });
    try {
      await waitFor(
        () =>
          new Promise<boolean>((resolve) => {
            const probe = connect({ host: '127.0.0.1', port: accept });
            probe.on('connect', () => {
              probe.destroy();
              resolve(true);
            });
            probe.on('error', () => resolve(false));
          }),
        { what: 'stunnel listening', timeoutMs: 10_000, intervalMs: 100 },
      );
      const before = (await streams()).tls?.accepted ?? 0;
      const run = await runSipp('register.xml', {
        service: 'alice',
        port: await freeUdpPort(),
        remote: { address: '127.0.0.1', port: accept },
        auth: { username: 'alice', password: 'wonderland' },
        // sipp's digest `uri` is the address it sends to (stunnel's here) unless told: the Request-URI's host (sipp adds `sip:`).
        extraArgs: ['-t', 't1', '-auth_uri', 'localhost'],
      });
      ok(run);
      // The probe above and sipp's connection: each a TLS connection through stunnel.
      expect((await streams()).tls?.accepted).toBeGreaterThan(before);
    } finally {
      stunnel.kill();
    }
  });

  it('a call from a sipp UAC over TCP to a callee registered over UDP: Record-Route names TCP, ACK and BYE follow it', async () => {
    const calleePort = await freeUdpPort();
    ok(
      await runSipp('register.xml', {
        service: 'bob',
        port: calleePort,
        remote: sip,
        auth: { username: 'bob', password: 'builder' },
      }),
    );
    const callee = runSipp('uas.xml', { service: 'bob', port: calleePort });
    const caller = await runSipp('uac.xml', {
      service: 'bob',
      port: await freeUdpPort(),
      remote: sip,
      // Alice's INVITE is challenged (407) like any call of a user of the domain; sipp answers it.
      auth: { username: 'alice', password: 'wonderland' },
      extraArgs: ['-t', 't1'],
    });
    ok(caller);
    const uas = await callee;
    ok(uas);
    // The callee sees the caller's side of the proxy as a TCP hop (RFC 3261 §16.6 step 4); the caller's ACK and BYE
    // came back through it over its connection.
    expect(uas.logs).toMatch(
      /record-route: Record-Route: <sip:127\.0\.0\.1:\d+;lr;transport=tcp;xpp-rr=[\w-]{22}>/,
    );
    expect(caller.logs).toContain('SIP/2.0/TCP');
  });

  it('malformed stream input is closed or answered as the RFCs say, counted, and other clients go on', async () => {
    const before = (await streams()).tcp.closed;
    // No Content-Length on a stream (RFC 3261 §18.3): 400, then the connection closes.
    const noLength = tcpClient();
    noLength.socket.write(register(1).replace('Content-Length: 0\r\n', ''));
    await noLength.closed;
    expect(noLength.responses.map((r) => r.status)).toEqual([400]);
    // A Content-Length larger than the body: the rest never comes, the message time (1 s here) closes it.
    const short = tcpClient();
    short.socket.write(
      register(2).replace('Content-Length: 0\r\n\r\n', 'Content-Length: 400\r\n\r\nv=0\r\n'),
    );
    // 1 MB of headers: closed at the header limit, nothing parsed.
    const huge = tcpClient();
    huge.socket.write(
      `REGISTER sip:localhost SIP/2.0\r\n${'X-Junk: 0123456789abcdef0123456789\r\n'.repeat(30_000)}`,
    );
    // Slow-loris: a byte every 50 ms never completes a header block within the message time.
    const loris = tcpClient();
    const text = register(3);
    let sent = 0;
    const trickle = setInterval(() => {
      if (!loris.socket.destroyed) loris.socket.write(text.charAt(sent++ % text.length));
    }, 50);
    // Meanwhile a UDP client and a well-behaved TCP client are answered.
    const udp = await UdpListener.open();
    try {
      const raw = await finalResponse(
        udp,
        rawRequest(udp.address, 'REGISTER', 'sip:localhost', {
          To: '<sip:alice@localhost>',
          From: '<sip:alice@localhost>;tag=u',
        }),
        sip,
      );
      expect(statusLine(raw)).toBe('SIP/2.0 401 Unauthorized');
    } finally {
      udp.close();
    }
    const good = tcpClient();
    good.socket.write(register(4));
    await waitFor(() => good.responses.length === 1, { what: 'a 401 on TCP', timeoutMs: 5_000 });
    expect(good.responses[0]?.status).toBe(401);
    await Promise.all([short.closed, huge.closed, loris.closed]);
    clearInterval(trickle);
    expect(short.responses).toEqual([]);
    expect(sent).toBeLessThan(text.length);
    const after = (await streams()).tcp.closed;
    expect((after['framing'] ?? 0) - (before['framing'] ?? 0)).toBe(1);
    expect((after['tooLarge'] ?? 0) - (before['tooLarge'] ?? 0)).toBe(1);
    expect((after['timeout'] ?? 0) - (before['timeout'] ?? 0)).toBe(2);
    // The good client's connection is still open and usable.
    expect(good.socket.destroyed).toBe(false);
    good.socket.destroy();
    const metrics = await (await fetch(`http://127.0.0.1:${http}/metrics`)).text();
    expect(metrics).toMatch(/sip_rejected_total\{reason="tcp-closed-timeout"\} [1-9]/);
  }, 30_000);
});
