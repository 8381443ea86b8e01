import { mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseSipMessage, type TransportAddress } from '@xpp/session-sdp';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { commandConfig } from '../src/cli/config-flags.js';
import { freeUdpPort, runSipp, sippVersion } from './sipp/run.js';
import { waitFor } from '@xpp/reliability/testing';
import { NodeProcess, runXppNode } from './support/node-process.js';
import { finalResponse, rawRequest, statusLine, UdpListener } from './support/raw-sip.js';

// Issue 17 item 5: what `xpp-node start` does with no config file, seen from the wire. Only the ports (any free
// one) and the data directory (a scratch one) are given on the command line.
const anyPorts = ['--sip-port', '0', '--xpp-port', '0', '--http-port', '0'];
const running: NodeProcess[] = [];
let client: UdpListener;
beforeAll(async () => {
  expect(sippVersion()).toContain('SIPp');
  client = await UdpListener.open();
});
afterEach(() => {
  for (const p of running.splice(0)) p.kill();
});
afterAll(() => client.close());

async function start(dir: string, ...flags: string[]): Promise<{ sip: TransportAddress; http: number }> {
  const node = new NodeProcess(['start', '--data-dir', dir, ...anyPorts, ...flags]);
  running.push(node);
  const ports = await node.ports();
  await node.healthy(ports.http);
  return { sip: { address: '127.0.0.1', port: ports.sip }, http: ports.http };
}

const challenges = async (sip: TransportAddress) => {
  const raw = await finalResponse(
    client,
    rawRequest(client.address, 'REGISTER', 'sip:localhost', {
      To: '<sip:alice@localhost>',
      From: '<sip:alice@localhost>;tag=r',
    }),
    sip,
  );
  expect(statusLine(raw)).toBe('SIP/2.0 401 Unauthorized');
  return parseSipMessage(Buffer.from(raw))
    .headers.getAll('www-authenticate')
    .map((c) => /algorithm=([\w-]+)/.exec(c)?.[1]);
};

describe('xpp-node start with no config file', () => {
  it('challenges MD5 alone; sipp’s stock REGISTER with digest registers; reason phrases and 501 on the wire', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'xpp-interop-')), 'data');
    const { sip, http } = await start(dir);
    const added = await runXppNode([
      'user',
      'add',
      'sip:alice@localhost',
      '--password',
      'wonderland',
      '--data-dir',
      dir,
      '--http-port',
      String(http),
    ]);
    expect(added.code, added.stderr).toBe(0);
    // The Record-Route key was created on first use, readable by its owner only.
    expect(statSync(join(dir, 'record-route.key')).mode & 0o077).toBe(0);

    expect(await challenges(sip)).toEqual(['MD5']);
    const port = await freeUdpPort();
    const run = await runSipp('register.xml', {
      service: 'alice',
      port,
      remote: sip,
      auth: { username: 'alice', password: 'wonderland' },
    });
    expect(run.code, `${run.output}\n${run.logs}`).toBe(0);
    expect(run.logs).toContain(`bound: Contact: <sip:alice@127.0.0.1:${port}>;expires=600`);

    const answer = async (method: string, uri: string, headers: Record<string, string> = {}) =>
      finalResponse(client, rawRequest(client.address, method, uri, headers), sip);
    expect(statusLine(await answer('INVITE', 'sip:nobody@localhost'))).toBe(
      'SIP/2.0 480 Temporarily Unavailable',
    );
    expect(statusLine(await answer('MESSAGE', 'sip:victim@192.0.2.1'))).toBe('SIP/2.0 403 Forbidden');
    expect(statusLine(await answer('INVITE', 'sip:alice@localhost', { 'Max-Forwards': '0' }))).toBe(
      'SIP/2.0 483 Too Many Hops',
    );

    // RFC 4475 §3.1.1.2 (intmeth): a method of every token character, addressed to this node, with the torture
    // message's odd but valid From, Call-ID and extension header: 501 Not Implemented with Allow (RFC 3261 §8.2.1).
    const method = "!interesting-Method0123456789_*+`.%indeed'~";
    for (const uri of ['sip:localhost', `sip:127.0.0.1:${sip.port}`]) {
      const raw = await answer(method, uri, {
        From: "token1~` token2'+_ token3*%!.- <sip:mundane@localhost>;fromParam''~+*_!.-%=\"работающий\";tag=_token~1'+`*%!-.",
        'Call-ID': `intmeth.word%ZK-!.*_+'@word\`~)(><:\\/"][?}{${uri.length}`,
        CSeq: `139122385 ${method}`,
        'Max-Forwards': '255',
        "extensionHeader-!.%*+_`'~": '\ufeff大停電',
      });
      expect(statusLine(raw)).toBe('SIP/2.0 501 Not Implemented');
      expect(parseSipMessage(Buffer.from(raw)).headers.get('allow')).toBe(
        'INVITE, ACK, BYE, CANCEL, OPTIONS, REGISTER',
      );
    }
    // The same method for a user of the domain is proxied like any request: to alice's flow (sipp's port).
    const alice = await UdpListener.open(port);
    try {
      client.send(
        rawRequest(client.address, method, 'sip:alice@localhost', { CSeq: `1 ${method}` }).text,
        sip,
      );
      await waitFor(() => alice.messages().some((m) => m.kind === 'request' && m.method === method), {
        what: 'the request at alice',
        timeoutMs: 20_000,
        intervalMs: 50,
      });
    } finally {
      alice.close();
    }
  });

  it('--digest sha-256,md5 challenges SHA-256 first, then MD5', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'xpp-interop-')), 'data');
    const { sip } = await start(dir, '--digest', 'sha-256,md5');
    expect(await challenges(sip)).toEqual(['SHA-256', 'MD5']);
  });

  it('reads --digest and XPP_NODE_DIGEST as a list; refuses an unknown algorithm with exit status 2', async () => {
    expect(commandConfig({ digest: 'SHA-256, md5' }, {}).digestAlgorithms).toEqual(['SHA-256', 'MD5']);
    expect(commandConfig({}, { XPP_NODE_DIGEST: 'sha-256' }).digestAlgorithms).toEqual(['SHA-256']);
    expect(commandConfig({}, {}).digestAlgorithms).toBeUndefined();
    expect(commandConfig({ foreignCalls: true }, {}).foreignCalls).toBe(true);
    expect(commandConfig({}, { XPP_NODE_FOREIGN_CALLS: 'true' }).foreignCalls).toBe(true);
    const refused = await runXppNode(['start', '--digest', 'sha-1', ...anyPorts]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/digestAlgorithms\.0: .*\(from command line\)/);
    const twice = await runXppNode(['start', '--digest', 'md5,MD5', ...anyPorts]);
    expect(twice.code).toBe(2);
    expect(twice.stderr).toMatch(/digestAlgorithms: each algorithm once/);
  });
});
